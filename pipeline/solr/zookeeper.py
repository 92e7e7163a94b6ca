"""What a SolrCloud cluster's ZooKeeper holds that loginsights needs: where the collection's
replicas live, and the security.json every node enforces.

``--zk-host`` (``LOGINSIGHTS_ZK_HOST``) lets loginsights find the nodes hosting logInsights as they
come and go, instead of a fixed ``--solr-url`` list (which stays the fallback). pysolr's
``ZooKeeper`` keeps the collections' state current through kazoo watches; what it does not do,
this module adds: active replicas count only on live nodes, the other live nodes follow (any node
forwards), and the one write, ``put_security_json`` (``loginsights solr secure``), which also
creates a chroot that does not exist yet (a fresh ZooKeeper).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pysolr
from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, NodeExistsError, NoNodeError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.security import ACL

from pipeline.errors import ConfigurationError, SolrUnavailableError
from pipeline.solr.zk_credentials import ZkCredentials


def node_url(node_name: str, scheme: str = "http") -> str:
    """``127.0.0.1:8983_solr`` -> ``http://127.0.0.1:8983/solr`` (the context is URL-encoded)."""
    host, _, context = node_name.partition("_")
    return f"{scheme}://{host}/{unquote(context)}".rstrip("/")


def _client(
    zk_host: str,
    timeout: float,
    *,
    read_only: bool,
    credentials: ZkCredentials | None = None,
    admin: bool = False,
) -> KazooClient:
    """A started client, authenticated as ZooKeeper's admin or read-only digest user when the
    cluster has them (an anonymous one reads nothing there)."""
    auth = credentials.auth_data(admin=admin) if credentials is not None else None
    client = KazooClient(hosts=zk_host, timeout=timeout, read_only=read_only, auth_data=auth)
    try:
        client.start(timeout=timeout)
    except (KazooTimeoutError, KazooException, ValueError) as err:
        client.close()
        raise SolrUnavailableError(
            f"ZooKeeper at {zk_host} could not be reached ({type(err).__name__}); check --zk-host "
            "(host:port[,host:port][/chroot]) and that ZooKeeper runs"
        ) from err
    return client


class LiveNodes:
    """The URLs of the live nodes hosting a collection, kept current by ZooKeeper watches."""

    def __init__(
        self,
        zk_host: str,
        collection: str,
        *,
        timeout: float = 10.0,
        credentials: ZkCredentials | None = None,
    ) -> None:
        self.zk_host = zk_host
        self.collection = collection
        self._client = _client(zk_host, timeout, read_only=True, credentials=credentials)
        self._zk = pysolr.ZooKeeper(zk_host, kazoo_client=self._client)

    def urls(self) -> list[str]:
        """Live nodes with an active replica of the collection first, then the other live nodes
        (any node forwards a request for a collection it does not host)."""
        live = [node_url(name) for name in sorted(self._zk.liveNodes or [])]
        try:
            hosts = [url.rstrip("/") for url in self._zk.getHosts(self.collection)]
        except pysolr.SolrError:  # the collection is not (yet) in ZooKeeper
            hosts = []
        hosting = [url for url in hosts if url in live]
        ordered = hosting + [url for url in live if url not in hosting]
        if not ordered:
            raise SolrUnavailableError(
                f"ZooKeeper at {self.zk_host} knows no live Solr node; start one, or check that "
                "--zk-host names the cluster's ZooKeeper (with its chroot, e.g. zk:2181/solr)"
            )
        return ordered

    def close(self) -> None:
        self._client.stop()
        self._client.close()


_SHARED: dict[tuple[str, str], LiveNodes] = {}
_SHARED_LOCK = threading.Lock()


def live_nodes(
    zk_host: str | None, collection: str, credentials: ZkCredentials | None = None
) -> LiveNodes | None:
    """One watch per ZooKeeper and collection in a process (every client of it shares it), as
    ZooKeeper's read-only user when the cluster has ACLs."""
    if not zk_host:
        return None
    with _SHARED_LOCK:
        key = (zk_host, collection)
        if key not in _SHARED:
            _SHARED[key] = LiveNodes(zk_host, collection, credentials=credentials)
        return _SHARED[key]


def put_security_json(
    zk_host: str,
    security: dict[str, Any],
    *,
    timeout: float = 15.0,
    credentials: ZkCredentials | None = None,
) -> bool:
    """Write /security.json into ZooKeeper (every node applies it within a moment); True when it
    replaced one. The chroot of ``zk_host`` is where Solr looks (e.g. ``zk:2181/solr``).

    With ``credentials`` (the cluster's digest users) it writes as the admin user, and the
    chroot, the root and security.json carry the ACLs Solr's DigestZkACLProvider gives them
    (security.json: the admin only), so a ZooKeeper prepared before its nodes start is closed
    to anonymous clients from the first moment, and one left open from before is closed now.
    """
    data = json.dumps(security, indent=2).encode()
    hosts, _, chroot = zk_host.partition("/")
    acl = credentials.acls if credentials is not None else None
    root = _client(hosts, timeout, read_only=False, credentials=credentials, admin=True)
    try:
        if chroot:
            _ensure(root, "/" + chroot, acl)
        if acl is not None:
            root.set_acls("/", acl("/"))
            # ZooKeeper's own quota node is open to anyone: a hard quota could stop Solr
            root.set_acls("/zookeeper/quota", acl("/"))
    except KazooException as err:
        raise _refused(zk_host, err) from err
    finally:
        root.stop()
        root.close()
    client = _client(zk_host, timeout, read_only=False, credentials=credentials, admin=True)
    try:
        try:
            client.set("/security.json", data)
            if acl is not None:
                client.set_acls("/security.json", acl("/security.json"))
            return True
        except NoNodeError:
            client.create("/security.json", data, acl=acl("/security.json") if acl else None)
            return False
    except KazooException as err:
        raise _refused(zk_host, err) from err
    finally:
        client.stop()
        client.close()


def read_security_json(
    zk_host: str, *, timeout: float = 15.0, credentials: ZkCredentials | None = None
) -> dict[str, Any] | None:
    """The /security.json ZooKeeper holds (as the admin user when credentials are given), or
    None when there is none yet."""
    client = _client(zk_host, timeout, read_only=True, credentials=credentials, admin=True)
    try:
        data, _ = client.get("/security.json")
    except NoNodeError:
        return None
    except KazooException as err:
        raise _refused(zk_host, err) from err
    finally:
        client.stop()
        client.close()
    try:
        security = json.loads(data) if data else None
    except ValueError:
        return None
    return security if isinstance(security, dict) else None


def _ensure(client: KazooClient, path: str, acl: Callable[[str], list[ACL]] | None) -> None:
    """Make ``path`` and its parents, each with its ACL; an existing one gets its ACL again."""
    parts = [p for p in path.split("/") if p]
    for depth in range(1, len(parts) + 1):
        node = "/" + "/".join(parts[:depth])
        if client.exists(node) is None:
            with contextlib.suppress(NodeExistsError):  # made meanwhile by another client
                client.create(node, b"", acl=acl(node) if acl else None)
        elif acl is not None:
            client.set_acls(node, acl(node))


def _refused(zk_host: str, err: KazooException) -> ConfigurationError:
    return ConfigurationError(
        f"ZooKeeper at {zk_host} refused to store /security.json ({type(err).__name__}); "
        "check that loginsights has the cluster's ZooKeeper admin credentials "
        "(LOGINSIGHTS_ZK_ADMIN_PASSWORD and LOGINSIGHTS_ZK_READONLY_PASSWORD, or "
        "LOGINSIGHTS_ZK_CREDENTIALS_FILE)"
    )


__all__ = ["LiveNodes", "live_nodes", "node_url", "put_security_json", "read_security_json"]
