"""logInsights on a real two-node SolrCloud, 2 shards x 2 replicas (the Maven-built launcher).

Node loss during an import, expiry across shards, /export and streaming expressions agreeing
with facets, and the documented request through either node, with and without a local replica.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from conftest import (
    CONFIGSET,
    SOLR_ADMIN,
    SOLR_INDEXER,
    SOLR_READER,
    TEST_ACCOUNTS,
    admin_auth,
    free_port,
    wait_for,
)
from test_indexing import document, failed

from pipeline.documents import failure_renderer
from pipeline.flusher import OutboxFlusher
from pipeline.indexing import LogInsightsIndex
from pipeline.ledger import Ledger
from pipeline.models import LOG_DOCUMENT_FIELDS, ErrorCode
from pipeline.query import LogInsightsQuery
from pipeline.settings import REPO_ROOT
from pipeline.solr.local import LocalSolr

ZONE = ZoneInfo("America/New_York")
SEED_JSON = '{"params":{"q":"docType:SHOPIFY_ORDER"}}'


@dataclass
class Cluster:
    local: LocalSolr
    port: int
    urls: tuple[str, ...]

    @property
    def both(self) -> str:
        return ",".join(self.urls)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    local = LocalSolr(
        launcher_dir=REPO_ROOT / "solr" / "launcher",
        configset_dir=CONFIGSET,
        state_dir=tmp_path_factory.mktemp("cloud2"),
        auto_delete_period_seconds=2,
        heap="384m",
        accounts=TEST_ACCOUNTS,
    )
    port = free_port(2)
    solr, installed = local.start(mode="cloud", nodes=2, port=port, shards=2, replication_factor=2)
    try:
        yield Cluster(local, port, solr.urls)
    finally:
        local.stop(port)


def count(url: str, q: str) -> int:
    body = requests.get(
        f"{url}/logInsights/select", params={"q": q, "rows": 0}, timeout=30, auth=admin_auth()
    )
    return int(body.json()["response"]["numFound"])


def test_the_collection_has_two_shards_of_two_replicas(cluster: Cluster) -> None:
    status = requests.get(f"{cluster.urls[0]}/admin/collections",
                          params={"action": "CLUSTERSTATUS"}, timeout=30,
                          auth=admin_auth()).json()  # fmt: skip
    shards = status["cluster"]["collections"]["logInsights"]["shards"]
    assert sorted(shards) == ["shard1", "shard2"]
    assert all(len(shard["replicas"]) == 2 for shard in shards.values())


def test_node_loss_during_an_import_loses_no_failure_document(
    cluster: Cluster, tmp_path: Path, shop: str
) -> None:
    index = LogInsightsIndex(cluster.both, retry_attempts=2, timeout=5, account=SOLR_INDEXER)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        flusher = OutboxFlusher(ledger, index)
        first = [failed(shop, str(n)) for n in range(100)]
        ledger.record_failures(first, render=failure_renderer("+60DAYS", ZONE))
        assert flusher.flush().posted == 100
        cluster.local.stop_node(cluster.port, cluster.port + 1)
        try:
            later = [failed(shop, str(n)) for n in range(100, 200)]
            ledger.record_failures(later, render=failure_renderer("+60DAYS", ZONE))
            wait_for(lambda: flusher.flush().waiting == 0, seconds=60, interval=1)
            assert ledger.outbox_counts() == (0, 0), "the outbox replayed what was refused"
            query = LogInsightsQuery(cluster.both, timeout=5, account=SOLR_READER)
            answer = query.run({"params": {"q": f"shop:{shop}", "rows": 0}})
            assert answer.ok, "queries keep answering through the live node"
        finally:
            cluster.local.start(mode="cloud", nodes=2, port=cluster.port)
    assert wait_for(lambda: count(cluster.urls[1], f"shop:{shop}") == 200, seconds=60)
    assert count(cluster.urls[0], f"shop:{shop}") == 200, "both nodes answer the same count"


def test_expired_documents_are_deleted_once_across_shards(cluster: Cluster, shop: str) -> None:
    index = LogInsightsIndex(cluster.both, account=SOLR_INDEXER)
    short = [document(failed(shop, str(n), ttl="+3SECONDS")) for n in range(20)]
    index.post_documents(short + [document(failed(shop, "keeper"))])
    index.soft_commit()
    assert count(cluster.urls[0], f"shop:{shop}") == 21
    assert wait_for(lambda: count(cluster.urls[0], f"shop:{shop}") == 1, seconds=40)
    assert count(cluster.urls[1], f"shop:{shop}") == 1, "nothing left behind on either shard"


def test_export_and_streaming_expressions_agree_with_facets(cluster: Cluster, shop: str) -> None:
    codes = [ErrorCode.MISSING_ADDRESS] * 7 + [ErrorCode.BAD_EMAIL] * 4 + [ErrorCode.MISSING_PHONE]
    index = LogInsightsIndex(cluster.both, account=SOLR_INDEXER)
    index.post_documents(
        [document(failed(shop, str(n), error_code=code)) for n, code in enumerate(codes)]
    )
    index.soft_commit()
    facets = requests.get(
        f"{cluster.urls[0]}/logInsights/select",
        params={"q": f"shop:{shop}", "rows": 0, "facet": "true", "facet.field": "errorCode"},
        timeout=30,
        auth=admin_auth(),
    ).json()["facet_counts"]["facet_fields"]["errorCode"]
    by_facet = {facets[i]: facets[i + 1] for i in range(0, len(facets), 2) if facets[i + 1]}
    expression = (
        f'rollup(search(logInsights, q="shop:{shop}", fl="errorCode", sort="errorCode asc", '
        'qt="/export"), over="errorCode", count(*))'
    )
    streamed = requests.post(f"{cluster.urls[1]}/logInsights/stream",
                             data={"expr": expression}, timeout=60,
                             auth=admin_auth()).json()  # fmt: skip
    tuples = [t for t in streamed["result-set"]["docs"] if "EOF" not in t]
    by_stream = {t["errorCode"]: t["count(*)"] for t in tuples}
    assert by_stream == by_facet == {"missing_address": 7, "bad_email": 4, "missing_phone": 1}
    status = requests.get(f"{cluster.urls[0]}/admin/collections",
                          params={"action": "CLUSTERSTATUS"}, timeout=30,
                          auth=admin_auth()).json()  # fmt: skip
    exported = 0
    for shard in status["cluster"]["collections"]["logInsights"]["shards"].values():
        # /export answers for one core: the leader's (a replica may still be recovering)
        replica = next(r for r in shard["replicas"].values() if r.get("leader") == "true")
        exported += requests.get(
            f"{replica['base_url']}/{replica['core']}/export",
            params={"q": f"shop:{shop}",
                    "fl": "document-id,errorCode,version,timestamp,resolved,errorMessage_exact",
                    "sort": "document-id asc"},
            timeout=60, auth=admin_auth(),
        ).json()["response"]["numFound"]  # fmt: skip
    assert exported == len(codes), "every field /export reads has docValues"


def test_the_documented_request_through_either_node_and_a_node_without_a_replica(
    cluster: Cluster, shop: str
) -> None:
    LogInsightsIndex(cluster.both, account=SOLR_INDEXER).post_documents([document(failed(shop))])
    LogInsightsIndex(cluster.both, account=SOLR_INDEXER).soft_commit()
    for url in cluster.urls:
        body = LogInsightsQuery(url, account=SOLR_READER).run(
            json.loads('{"params":{"q":"docType:SHOPIFY_ORDER"}}')
        )
        header = body.json()["responseHeader"]
        assert header["zkConnected"] is True and header["params"]["json"] == SEED_JSON
        assert set(body.json()["response"]) == {"numFound", "start", "numFoundExact", "docs"}
        assert all(set(d) <= set(LOG_DOCUMENT_FIELDS) for d in body.json()["response"]["docs"])
    name = f"onlyfirst{int(time.time())}"
    node_name = cluster.urls[0].split("//")[1].replace("/solr", "_solr")
    created = requests.get(f"{cluster.urls[0]}/admin/collections", params={
        "action": "CREATE", "name": name, "collection.configName": "logInsights",
        "numShards": 1, "createNodeSet": node_name}, timeout=120, auth=admin_auth())  # fmt: skip
    assert created.status_code == 200, created.text
    try:
        # a collection of its own: only the admin may write and search it (security.json)
        LogInsightsIndex(cluster.urls[0], name, account=SOLR_ADMIN).post_documents(
            [document(failed(shop))]
        )
        LogInsightsIndex(cluster.urls[0], name, account=SOLR_ADMIN).soft_commit()
        forwarded = LogInsightsQuery(
            cluster.urls[1], allowed_cores=(name,), account=SOLR_ADMIN
        ).run(json.loads(SEED_JSON), name)
        header = forwarded.json()["responseHeader"]
        assert header["params"]["_forwardedCount"] == "1", "as Solr does for a remote node"
        assert header["params"]["json"] == SEED_JSON
        assert forwarded.json()["response"]["numFound"] == 1
    finally:
        requests.get(f"{cluster.urls[0]}/admin/collections",
                     params={"action": "DELETE", "name": name}, timeout=120,
                     auth=admin_auth())  # fmt: skip


def test_failover_reaches_a_live_node_when_the_first_is_gone(cluster: Cluster, shop: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}/solr"
    index = LogInsightsIndex(
        f"{dead},{cluster.urls[1]}", retry_attempts=1, timeout=5, account=SOLR_INDEXER
    )
    assert index.post_documents([document(failed(shop))]).indexed
    index.soft_commit()
    query = LogInsightsQuery(f"{dead},{cluster.urls[0]}", timeout=5, account=SOLR_READER)
    answer = query.run({"params": {"q": f"shop:{shop}", "rows": 0}})
    assert answer.ok and answer.json()["response"]["numFound"] == 1
