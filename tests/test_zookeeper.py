"""ZooKeeper asks who you are: the real embedded ZooKeeper of the local SolrCloud, with the ACLs
Solr's DigestZkACLProvider gives every znode Solr and loginsights write."""

from __future__ import annotations

import uuid

import pytest
from conftest import SolrUnderTest, assert_closed_to_anonymous
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.security import OPEN_ACL_UNSAFE

from pipeline.solr.zk_credentials import ZkCredentials
from pipeline.solr.zookeeper import put_security_json


def cluster(solr: SolrUnderTest) -> tuple[str, ZkCredentials]:
    assert solr.local is not None and solr.port is not None
    running = solr.local.running(solr.port)
    assert running is not None and running.zk_host
    return running.zk_host, solr.local.zk_credentials()


def client(hosts: str, auth: list[tuple[str, str]] | None = None) -> KazooClient:
    zk = KazooClient(hosts=hosts, timeout=10, auth_data=auth)
    zk.start(timeout=10)
    return zk


def test_an_anonymous_client_connects_but_reads_and_writes_nothing(solr: SolrUnderTest) -> None:
    zk_host, _ = cluster(solr)
    hosts, _, chroot = zk_host.partition("/")
    anonymous = client(hosts)
    try:
        for path in (f"/{chroot}/security.json", f"/{chroot}/solr.xml", f"/{chroot}/live_nodes"):
            with pytest.raises(NoAuthError):
                anonymous.get(path)
        with pytest.raises(NoAuthError):
            anonymous.set(f"/{chroot}/security.json", b'{"authentication": {}}')
        with pytest.raises(NoAuthError):
            anonymous.create(f"/{chroot}/evil", b"")
        with pytest.raises(NoAuthError):
            anonymous.create(f"/beside-{uuid.uuid4().hex[:6]}", b"")  # nor beside the chroot
        with pytest.raises(NoAuthError):
            anonymous.delete(f"/{chroot}/security.json")
        with pytest.raises(NoAuthError):  # found by this round's attack pass
            anonymous.create(f"/zookeeper/quota/{chroot}", b"")
    finally:
        anonymous.stop()


def test_the_read_only_user_sees_the_cluster_but_not_security_json(solr: SolrUnderTest) -> None:
    zk_host, creds = cluster(solr)
    reader = client(zk_host, creds.auth_data(admin=False))
    try:
        assert reader.get_children("/live_nodes"), "the live-node watch works"
        with pytest.raises(NoAuthError):
            reader.get("/security.json")
        with pytest.raises(NoAuthError):
            reader.create("/evil", b"")
    finally:
        reader.stop()
    admin = client(zk_host, creds.auth_data(admin=True))
    try:
        data, _ = admin.get("/security.json")
        assert b"BasicAuthPlugin" in data
        acl, _ = admin.get_acls("/security.json")
        assert [a.id.scheme for a in acl] == ["digest"] and len(acl) == 1, "admin only"
    finally:
        admin.stop()


def test_znodes_left_open_are_closed_when_security_json_is_put_again(solr: SolrUnderTest) -> None:
    """A ZooKeeper prepared before (or by another tool) may hold znodes anyone can write:
    `solr secure` (and the launcher's every start) gives them the ACLs again."""
    zk_host, creds = cluster(solr)
    hosts = zk_host.partition("/")[0]
    chroot = f"/open{uuid.uuid4().hex[:8]}"
    admin = client(hosts, creds.auth_data(admin=True))
    try:
        admin.create(chroot, b"", acl=OPEN_ACL_UNSAFE)
        admin.create(f"{chroot}/security.json", b"{}", acl=OPEN_ACL_UNSAFE)
    finally:
        admin.stop()
    put_security_json(hosts + chroot, {"authentication": {}}, credentials=creds)
    assert_closed_to_anonymous(hosts, f"{chroot}/security.json")


def test_the_credentials_file_is_private_and_never_printed(solr: SolrUnderTest) -> None:
    assert solr.local is not None
    path = solr.local.zk_credentials_path
    assert path.stat().st_mode & 0o777 == 0o600
    creds = solr.local.zk_credentials()
    assert creds.admin_password.get_secret_value() not in repr(creds)
