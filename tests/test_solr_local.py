"""The Maven-built local Solr: standalone and SolrCloud, start, status, stop, restart."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from conftest import (
    CONFIGSET,
    SOLR_ADMIN,
    SOLR_INDEXER,
    TEST_ACCOUNTS,
    SolrUnderTest,
    admin_auth,
    assert_closed_to_anonymous,
    free_port,
    select,
    wait_for,
)
from test_indexing import document, failed

from pipeline.errors import LocalSolrError
from pipeline.indexing import LogInsightsIndex
from pipeline.models import LOG_DOCUMENT_FIELDS
from pipeline.settings import REPO_ROOT, Settings
from pipeline.solr.install import ConfigsetInstaller
from pipeline.solr.local import LocalSolr
from pipeline.wiring import Wiring


def local_solr(state_dir: Path) -> LocalSolr:
    return LocalSolr(
        launcher_dir=REPO_ROOT / "solr" / "launcher",
        configset_dir=CONFIGSET,
        state_dir=state_dir,
        auto_delete_period_seconds=2,
        heap="512m",
        accounts=TEST_ACCOUNTS,
    )


def test_standalone_mode_answers_the_documented_request_without_zookeeper(
    standalone_solr: SolrUnderTest, shop: str
) -> None:
    settings = Settings(solr_url=standalone_solr.url)
    Wiring(settings, {}).index.post_documents([document(failed(shop))])
    answer = wait_for(
        lambda: (
            (
                a := Wiring(settings, {}).search.run(
                    {"params": {"q": f"docType:SHOPIFY_ORDER AND shop:{shop}"}}
                )
            ).json()["response"]["numFound"]
            and a
        ),
        seconds=10,
    )
    body = answer.json()
    assert "zkConnected" not in body["responseHeader"]
    assert body["responseHeader"]["status"] == 0
    assert set(body["response"]["docs"][0]) == set(LOG_DOCUMENT_FIELDS)


def test_init_is_idempotent(solr: SolrUnderTest) -> None:
    installer = ConfigsetInstaller(solr.url, configset_dir=CONFIGSET, account=SOLR_ADMIN)
    again = installer.install()
    assert again.created is False
    assert again.solr_version.startswith("9.")
    assert again.mode == solr.mode


@pytest.mark.slow
def test_start_twice_finds_the_running_solr_and_stop_keeps_its_documents(
    tmp_path: Path, shop: str
) -> None:
    local = local_solr(tmp_path)
    port = free_port()
    first, created = local.start(mode="standalone", port=port)
    try:
        assert created.created is True
        second, again = local.start(mode="standalone", port=port)
        assert second.pid == first.pid and again.created is False

        status = local.status(port)
        assert status.running and status.healthy and status.documents == 0

        index = LogInsightsIndex(first.solr_url, account=SOLR_INDEXER)
        index.post_documents([document(failed(shop))])
        index.soft_commit()
        with pytest.raises(LocalSolrError, match="already runs on port"):
            local.start(mode="cloud", port=port)
    finally:
        assert local.stop(port) is True
    assert local.status(port).running is False
    assert local.stop(port) is False
    with pytest.raises(requests.ConnectionError):
        requests.get(first.solr_url, timeout=2, auth=admin_auth())

    restarted, _ = local.start(mode="standalone", port=port)
    try:
        assert restarted.pid != first.pid
        docs = select(restarted.solr_url, q=f"shop:{shop}")["response"]["docs"]
        assert len(docs) == 1, "documents survive a stop"
    finally:
        local.stop(port)


@pytest.mark.slow
def test_two_cloud_nodes_share_the_collection_across_a_restart(tmp_path: Path, shop: str) -> None:
    local = local_solr(tmp_path)
    port = free_port(2)
    solr, installed = local.start(mode="cloud", nodes=2, port=port)
    try:
        assert len(solr.urls) == 2 and solr.zk_host
        status = requests.get(
            f"{solr.urls[1]}/admin/collections",
            params={"action": "CLUSTERSTATUS", "wt": "json"},
            timeout=10,
            auth=admin_auth(),
        ).json()
        assert len(status["cluster"]["live_nodes"]) == 2
        replicas = status["cluster"]["collections"]["logInsights"]["shards"]["shard1"]["replicas"]
        assert len(replicas) == 2
        LogInsightsIndex(solr.urls[0], account=SOLR_INDEXER).post_documents(
            [document(failed(shop))]
        )
        found = wait_for(
            lambda: select(solr.urls[1], q=f"shop:{shop}")["response"]["numFound"], seconds=10
        )
        assert found == 1, "a document posted to node 1 is found through node 2"
        left_open = _leave_a_znode_open(solr.zk_host, local)
    finally:
        local.stop(port)

    restarted, installed = local.start(mode="cloud", nodes=2, port=port)
    try:
        assert installed.created is False
        hosts, _, chroot = restarted.zk_host.partition("/")
        assert_closed_to_anonymous(hosts, f"/{chroot}{left_open}")
        found = wait_for(
            lambda: select(restarted.urls[1], q=f"shop:{shop}")["response"]["numFound"],
            seconds=30,
        )
        assert found == 1, "the cluster's documents survive a stop"
    finally:
        local.stop(port)


def _leave_a_znode_open(zk_host: str, local: LocalSolr) -> str:
    """What a cluster run before ZooKeeper asked for credentials left: a znode anyone may
    write (made here as the admin, with the open ACL)."""
    from kazoo.client import KazooClient
    from kazoo.security import OPEN_ACL_UNSAFE

    admin = KazooClient(zk_host, auth_data=local.zk_credentials().auth_data(admin=True))
    admin.start(timeout=10)
    try:
        admin.create("/left-open", b"from before", acl=OPEN_ACL_UNSAFE)
        assert admin.get_acls("/left-open")[0] == OPEN_ACL_UNSAFE
    finally:
        admin.stop()
    return "/left-open"


def test_a_busy_port_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LocalSolrError, match=f"port {port} on 127.0.0.1 is in use"):
            local_solr(tmp_path).start(port=port)


def test_the_build_is_cached(tmp_path: Path) -> None:
    local = local_solr(tmp_path)
    local.build()
    assert local.is_built()
    classpath = local.build()
    assert "solr-launcher" in classpath
