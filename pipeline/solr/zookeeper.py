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

import json
import threading
from typing import Any
from urllib.parse import unquote

import pysolr
from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, NoNodeError
from kazoo.handlers.threading import KazooTimeoutError

from pipeline.errors import ConfigurationError, SolrUnavailableError


def node_url(node_name: str, scheme: str = "http") -> str:
    """``127.0.0.1:8983_solr`` -> ``http://127.0.0.1:8983/solr`` (the context is URL-encoded)."""
    host, _, context = node_name.partition("_")
    return f"{scheme}://{host}/{unquote(context)}".rstrip("/")


def _client(zk_host: str, timeout: float, *, read_only: bool) -> KazooClient:
    client = KazooClient(hosts=zk_host, timeout=timeout, read_only=read_only)
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

    def __init__(self, zk_host: str, collection: str, *, timeout: float = 10.0) -> None:
        self.zk_host = zk_host
        self.collection = collection
        self._client = _client(zk_host, timeout, read_only=True)
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


def live_nodes(zk_host: str | None, collection: str) -> LiveNodes | None:
    """One watch per ZooKeeper and collection in a process (every client of it shares it)."""
    if not zk_host:
        return None
    with _SHARED_LOCK:
        key = (zk_host, collection)
        if key not in _SHARED:
            _SHARED[key] = LiveNodes(zk_host, collection)
        return _SHARED[key]


def put_security_json(zk_host: str, security: dict[str, Any], *, timeout: float = 15.0) -> bool:
    """Write /security.json into ZooKeeper (every node applies it within a moment); True when it
    replaced one. The chroot of ``zk_host`` is where Solr looks (e.g. ``zk:2181/solr``)."""
    data = json.dumps(security, indent=2).encode()
    hosts, _, chroot = zk_host.partition("/")
    if chroot:
        root = _client(hosts, timeout, read_only=False)
        try:
            root.ensure_path("/" + chroot)
        finally:
            root.stop()
            root.close()
    client = _client(zk_host, timeout, read_only=False)
    try:
        try:
            client.set("/security.json", data)
            return True
        except NoNodeError:
            client.create("/security.json", data, makepath=True)
            return False
    except KazooException as err:
        raise ConfigurationError(
            f"ZooKeeper at {zk_host} refused to store /security.json ({type(err).__name__}); "
            "check that this machine may write there (ZooKeeper ACLs)"
        ) from err
    finally:
        client.stop()
        client.close()


__all__ = ["LiveNodes", "live_nodes", "node_url", "put_security_json"]
