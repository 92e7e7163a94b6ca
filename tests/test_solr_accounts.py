"""Solr asks who you are: every request needs a user, and each user may do only its part.

The session's Solr (conftest) runs the security.json that ``pipeline.solr.accounts`` renders, as
``loginsights solr start`` does for a user; these tests knock on it from outside.
"""

from __future__ import annotations

import base64
import json
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from conftest import (
    SOLR_ADMIN,
    SOLR_INDEXER,
    SOLR_READER,
    TEST_ACCOUNTS,
    SolrUnderTest,
    admin_auth,
    select,
    served,
    wait_for,
)
from pydantic import SecretStr
from test_indexing import document, failed

from pipeline.api import create_app
from pipeline.cli import main
from pipeline.errors import SolrAccessError
from pipeline.flusher import OutboxFlusher
from pipeline.indexing import LogInsightsIndex
from pipeline.ledger import Ledger
from pipeline.query import LogInsightsQuery
from pipeline.scrub import scrub
from pipeline.settings import Settings
from pipeline.solr.accounts import SolrAccount, SolrAccounts, SolrRole, solr_password_hash
from pipeline.solr.zookeeper import LiveNodes, node_url, put_security_json

EVERY_HANDLER = [
    ("GET", "/logInsights/select?q=*:*"),
    ("GET", "/logInsights/search?q=*:*"),
    ("POST", "/logInsights/update"),
    ("POST", "/logInsights/stream"),
    ("GET", "/logInsights/export?q=*:*&fl=document-id&sort=document-id+asc"),
    ("GET", "/logInsights/replication?command=details"),
    ("GET", "/logInsights/analysis/field?analysis.fieldvalue=x&analysis.fieldtype=string"),
    ("GET", "/logInsights/debug/dump"),
    ("GET", "/logInsights/get?id=x"),
    ("GET", "/logInsights/schema"),
    ("GET", "/logInsights/config"),
    ("GET", "/logInsights/admin/ping"),
    ("GET", "/logInsights/admin/luke"),
    ("GET", "/admin/collections?action=LIST"),
    ("GET", "/admin/cores?action=STATUS"),
    ("GET", "/admin/configs?action=LIST"),
    ("GET", "/admin/info/system"),
    ("GET", "/admin/metrics"),
    ("GET", "/admin/authentication"),
    ("GET", "/admin/authorization"),
    ("GET", "/admin/zookeeper/status"),
    ("GET", "/____v2/collections"),
    ("GET", "/____v2/node/system"),
]
FORBIDDEN_TO_READER = [h for h in EVERY_HANDLER if "/search" not in h[1]]
FORBIDDEN_TO_INDEXER = [h for h in EVERY_HANDLER if "/update" not in h[1]]


def knock(
    solr: SolrUnderTest, method: str, path: str, auth: tuple[str, str] | None
) -> requests.Response:
    base = solr.url.removesuffix("/solr") if path.startswith("/____v2") else solr.url
    url = base + path.replace("/____v2", "/api")
    data = {"expr": "search(logInsights,q=*:*,fl=id,sort=id asc)"}
    return requests.request(method, url, data=data if method == "POST" else None,
                            auth=auth, timeout=30)  # fmt: skip


@pytest.fixture(scope="module")
def other_collection(solr: SolrUnderTest) -> Iterator[str]:
    name = f"other_{uuid.uuid4().hex[:8]}"
    created = requests.get(f"{solr.url}/admin/collections", params={
        "action": "CREATE", "name": name, "collection.configName": "logInsights",
        "numShards": 1}, auth=admin_auth(), timeout=120)  # fmt: skip
    assert created.status_code == 200, created.text
    yield name
    requests.get(f"{solr.url}/admin/collections", params={"action": "DELETE", "name": name},
                 auth=admin_auth(), timeout=120)  # fmt: skip


def test_solr_keeps_the_password_hash_the_reference_guide_shows() -> None:
    salt = base64.b64decode("Ndd7LKvVBAaZIF0QAVi1ekCfAJXr1GGfLtRUXhgrF8c=")
    assert solr_password_hash("SolrRocks", salt) == (
        "IV0EHq1OnNrj6gvRCwvFwTrZ1+z1oBbnQdiVC3otuq0= Ndd7LKvVBAaZIF0QAVi1ekCfAJXr1GGfLtRUXhgrF8c="
    )


def test_security_json_holds_no_password_and_ends_with_the_admin_only_rule() -> None:
    rendered = json.dumps(TEST_ACCOUNTS.security_json(collection="logInsights", searchable=[]))
    for account in TEST_ACCOUNTS:
        assert account.auth[1] not in rendered
    permissions = json.loads(rendered)["authorization"]["permissions"]
    assert permissions[-1] == {"name": "all", "role": ["admin"]}


def test_anyone_without_credentials_gets_401_on_every_handler(
    solr: SolrUnderTest, standalone_solr: SolrUnderTest
) -> None:
    for server in (solr, standalone_solr):
        for method, path in EVERY_HANDLER:
            if server is standalone_solr and "zookeeper" in path:
                continue
            answer = knock(server, method, path, None)
            assert answer.status_code == 401, (server.mode, path, answer.status_code)
        wrong = knock(server, "GET", "/logInsights/search?q=*:*", (SOLR_READER.user, "guess"))
        assert wrong.status_code == 401, "a wrong password is no password"


def test_the_reader_may_search_logInsights_and_nothing_else(
    solr: SolrUnderTest, other_collection: str
) -> None:
    assert knock(solr, "GET", "/logInsights/search?q=*:*", SOLR_READER.auth).status_code == 200
    for method, path in FORBIDDEN_TO_READER:
        answer = knock(solr, method, path, SOLR_READER.auth)
        assert answer.status_code == 403, (path, answer.status_code)
    other = knock(solr, "GET", f"/{other_collection}/search?q=*:*", SOLR_READER.auth)
    assert other.status_code == 403, "another collection, even through /search"


def test_the_indexer_may_update_logInsights_and_read_nothing(
    solr: SolrUnderTest, other_collection: str, shop: str
) -> None:
    index = LogInsightsIndex(solr.url, account=SOLR_INDEXER)
    assert index.post_documents([document(failed(shop))]).indexed
    for method, path in FORBIDDEN_TO_INDEXER:
        answer = knock(solr, method, path, SOLR_INDEXER.auth)
        assert answer.status_code == 403, (path, answer.status_code)
    for path in (f"/{other_collection}/select?q=*:*", f"/{other_collection}/update"):
        assert knock(solr, "POST", path, SOLR_INDEXER.auth).status_code == 403, path


def test_the_standalone_node_gives_each_user_its_paths_only(standalone_solr: SolrUnderTest) -> None:
    search = knock(standalone_solr, "GET", "/logInsights/search?q=*:*", SOLR_READER.auth)
    assert search.status_code == 200
    for method, path in FORBIDDEN_TO_READER:
        answer = knock(standalone_solr, method, path, SOLR_READER.auth)
        assert answer.status_code == 403, (path, answer.status_code)
    select_ = knock(standalone_solr, "GET", "/logInsights/select?q=*:*", SOLR_INDEXER.auth)
    assert select_.status_code == 403


def wrong(account: SolrAccount) -> SolrAccount:
    return SolrAccount(account.role, account.user, SecretStr("not-" + account.auth[1][:6]))


def test_refused_credentials_keep_documents_waiting_not_dead(
    solr: SolrUnderTest, tmp_path: Path, shop: str
) -> None:
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        for n in range(3):
            ledger.enqueue(document(failed(shop, str(n))))
        refused = LogInsightsIndex(solr.url, account=wrong(SOLR_INDEXER), retry_attempts=5)
        report = OutboxFlusher(ledger, refused, settle_seconds=0).flush()  # a lasting refusal
        assert report.solr_down and report.posted == 0
        assert ledger.outbox_counts() == (3, 0), "waiting, none dead: the documents are fine"
        assert "LOGINSIGHTS_SOLR_" in report.error and "not-" not in report.error
        back = OutboxFlusher(ledger, LogInsightsIndex(solr.url, account=SOLR_INDEXER)).flush()
        assert back.posted == 3 and ledger.outbox_counts() == (0, 0)
    assert select(solr.url, q=f"shop:{shop}", rows=0)["response"]["numFound"] == 3


def test_a_query_with_refused_credentials_says_so_and_is_not_retried(solr: SolrUnderTest) -> None:
    query = LogInsightsQuery(solr.url, account=wrong(SOLR_READER))
    with pytest.raises(SolrAccessError, match="HTTP 401") as raised:
        query.run({"params": {"q": "*:*"}})
    assert raised.value.status == 401
    indexer_searching = LogInsightsQuery(solr.url, account=SOLR_INDEXER)
    with pytest.raises(SolrAccessError, match="HTTP 403"):
        indexer_searching.run({"params": {"q": "*:*"}})


def test_the_api_answers_503_when_solr_refuses_its_reader(solr: SolrUnderTest) -> None:
    settings = Settings(solr_url=solr.url, api_tokens=["t0ken"], solr_reader_password="nope-1")
    with served(create_app(settings)) as url:
        answer = requests.post(f"{url}/api/solr-query", headers={"Authorization": "Bearer t0ken"},
                               json={"json": {"params": {"q": "*:*"}}}, timeout=30)  # fmt: skip
    assert answer.status_code == 503 and answer.headers["Retry-After"], answer.text
    assert "HTTP 401" in answer.text and "nope-1" not in answer.text


def test_passwords_are_scrubbed_from_messages_once_known() -> None:
    accounts = Settings().solr_accounts()
    assert accounts is not None
    for account in accounts:
        assert account.auth[1] not in scrub(f"login failed for {account.auth}")
        assert account.auth[1] not in repr(account)


def test_a_first_start_generates_private_credentials_and_reuses_them(tmp_path: Path) -> None:
    path = tmp_path / "solr" / "credentials.json"
    settings = Settings(state_dir=tmp_path, solr_indexer_password=None, solr_reader_password=None,
                        solr_admin_password=None)  # fmt: skip
    assert settings.solr_accounts() is None
    result = CliRunner().invoke(main, ["solr", "secure", "--write", str(tmp_path / "s.json")],
                                env={"LOGINSIGHTS_STATE_DIR": str(tmp_path),
                                     "LOGINSIGHTS_SOLR_INDEXER_PASSWORD": None,
                                     "LOGINSIGHTS_SOLR_READER_PASSWORD": None,
                                     "LOGINSIGHTS_SOLR_ADMIN_PASSWORD": None})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "s.json").stat().st_mode) == 0o600
    generated = SolrAccounts.load(path)
    assert generated is not None and settings.solr_accounts() == generated
    for account in generated:
        assert account.auth[1] not in result.output, "never printed"
    listed = CliRunner().invoke(main, ["solr", "credentials", "--json"],
                                env={"LOGINSIGHTS_STATE_DIR": str(tmp_path),
                                     "LOGINSIGHTS_SOLR_READER_PASSWORD": None})  # fmt: skip
    users = {row["role"]: row for row in json.loads(listed.output)["users"]}
    assert users["reader"]["passwordFrom"] == str(path)
    assert users["admin"]["passwordFrom"] == "LOGINSIGHTS_SOLR_ADMIN_PASSWORD"
    assert SOLR_ADMIN.auth[1] not in listed.output


def test_solr_secure_writes_zookeeper_and_every_node_applies_it(solr: SolrUnderTest) -> None:
    """What compose's cluster profile runs before its nodes start; here on the running cluster:
    a new reader password works within moments and the old one stops working."""
    assert solr.local is not None and solr.port is not None
    running = solr.local.running(solr.port)
    assert running is not None and running.zk_host
    rotated = SolrAccount(SolrRole.READER, SOLR_READER.user, SecretStr(uuid.uuid4().hex))
    changed = SolrAccounts(indexer=SOLR_INDEXER, reader=rotated, admin=SOLR_ADMIN)

    def security(accounts: SolrAccounts) -> dict:  # type: ignore[type-arg]
        return accounts.security_json(collection="logInsights", searchable=["logInsights"])

    try:
        creds = solr.local.zk_credentials()
        assert put_security_json(running.zk_host, security(changed), credentials=creds) is True
        path = "/logInsights/search?q=*:*"
        wait_for(lambda: knock(solr, "GET", path, rotated.auth).status_code == 200, seconds=20)
        assert knock(solr, "GET", path, SOLR_READER.auth).status_code == 401
    finally:
        put_security_json(
            running.zk_host, security(TEST_ACCOUNTS), credentials=solr.local.zk_credentials()
        )
        wait_for(lambda: knock(solr, "GET", path, SOLR_READER.auth).status_code == 200,
                 seconds=20)  # fmt: skip


def test_solr_secure_creates_the_chroot_of_a_fresh_zookeeper(solr: SolrUnderTest) -> None:
    assert solr.local is not None and solr.port is not None
    running = solr.local.running(solr.port)
    assert running is not None
    fresh = running.zk_host.split("/")[0] + f"/fresh{uuid.uuid4().hex[:8]}/solr"
    creds = solr.local.zk_credentials()
    assert put_security_json(fresh, {"authentication": {}}, credentials=creds) is False, "created"
    assert put_security_json(fresh, {"authentication": {}}, credentials=creds) is True, "replaced"


def test_zookeeper_names_the_live_nodes_hosting_logInsights(solr: SolrUnderTest) -> None:
    assert solr.local is not None and solr.port is not None
    running = solr.local.running(solr.port)
    assert running is not None
    live = LiveNodes(running.zk_host, "logInsights", credentials=solr.local.zk_credentials())
    try:
        urls = wait_for(lambda: live.urls(), seconds=10)
        assert urls == list(running.urls)
        query = LogInsightsQuery("", account=SOLR_READER, live=live)
        assert query.run({"params": {"q": "*:*", "rows": 0}}).ok, "no URL given: ZooKeeper's"
    finally:
        live.close()
    assert node_url("127.0.0.1:8983_solr") == "http://127.0.0.1:8983/solr"
    assert node_url("solr-2.example:8983_") == "http://solr-2.example:8983"


@pytest.mark.slow
def test_an_unreachable_zookeeper_is_named_in_the_error() -> None:
    from pipeline.errors import SolrUnavailableError

    with pytest.raises(SolrUnavailableError, match="ZooKeeper at 127.0.0.1:9 could not be"):
        LiveNodes("127.0.0.1:9", "logInsights", timeout=2)


# -- issue 28: no stack trace reaches a client; a handler not allowed is a 4xx ----------------


@pytest.mark.parametrize(
    ("path", "who", "status"),
    [("/logInsights/sql?stmt=select+1", "reader", 403), ("/logInsights/sql?stmt=select+1",
      "admin", 404), ("/logInsights/stream", "reader", 403), ("/logInsights/graph", "reader", 403)],
)  # fmt: skip
def test_a_handler_that_is_gone_or_not_allowed_answers_4xx_without_a_trace(
    solr: SolrUnderTest, path: str, who: str, status: int
) -> None:
    account = SOLR_READER if who == "reader" else SOLR_ADMIN
    answer = knock(solr, "GET", path, account.auth)
    assert answer.status_code == status, (answer.status_code, answer.text[:200])
    assert "trace" not in answer.text and "at org.apache" not in answer.text


def test_a_query_solr_cannot_run_answers_without_a_stack_trace(solr: SolrUnderTest) -> None:
    answer = requests.get(
        f"{solr.url}/logInsights/search",
        params={"q": "{!func}div(unknownfield_xyz,0)", "wt": "json"},
        auth=SOLR_READER.auth,
        timeout=30,
    )
    assert answer.status_code >= 400
    assert "trace" not in answer.json().get("error", {}), "solr.hideStackTrace"
