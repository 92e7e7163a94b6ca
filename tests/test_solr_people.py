"""Accounts for people: an operator searches and looks at logInsights in the admin UI, and can
harm nothing. Replayed against the real SolrCloud: the requests the admin UI makes for its
dashboard, collection selector, Query, schema browser and Analysis pages, as an operator."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from conftest import SOLR_ADMIN, SolrUnderTest, admin_auth
from pydantic import SecretStr

from pipeline.errors import ConfigurationError
from pipeline.solr.people import People, people_security

# (method, path) the admin UI asks for on those pages, as Solr 9.10's webapp builds them: the
# $resource services of js/angular/services.js called by MainController (every page: Cores.list,
# System.get, Collections.list and .listaliases), IndexController (the dashboard), the collection
# overview (Collections.status), QueryController (Query.query: sorted parameters, GET, the
# default handler /select, q.op and indent preset), SchemaController (Luke.schema, Luke.raw,
# Config.get; Luke.field for term info), AnalysisController (Luke.schema, Analysis.field) and
# the collection menu's Ping. "_" is the cache-buster every service adds. Each must be 200.
UI_READS = [
    ("GET", "/admin/cores?indexInfo=false&wt=json&_=1"),
    ("GET", "/admin/info/system?wt=json&_=1"),
    ("GET", "/admin/collections?action=LIST&wt=json&_=1"),
    ("GET", "/admin/collections?action=LISTALIASES&wt=json&_=1"),
    ("GET", "/admin/collections?action=CLUSTERSTATUS&collection=logInsights&wt=json&_=1"),
    ("GET", "/logInsights/select?_=1&indent=true&q=*%3A*&q.op=OR"),
    ("GET", "/logInsights/select?_=1&facet=true&facet.field=errorCode&fq=resolved%3Afalse"
            "&indent=true&q=docType%3ASHOPIFY_ORDER&q.op=OR&sort=timestamp%20desc"),
    ("GET", "/logInsights/admin/luke?show=schema&wt=json&_=1"),
    ("GET", "/logInsights/admin/luke?numTerms=0&wt=json&_=1"),
    ("GET", "/logInsights/config?wt=json&_=1"),
    ("GET", "/logInsights/admin/luke?fl=errorCode&numTerms=10&wt=json&_=1"),
    ("GET", "/logInsights/analysis/field?analysis.fieldname=errorMessage"
            "&analysis.fieldvalue=no+shipping+address&analysis.query=shipping&verbose_output=1"
            "&analysis.showmatch=true&wt=json&_=1"),
    ("GET", "/logInsights/admin/ping?wt=json&ts=1&_=1"),
    ("GET", "/admin/info/health?wt=json"),
]  # fmt: skip
# what an operator may never do: write, change configuration or security, read elsewhere
FORBIDDEN = [
    ("POST", "/logInsights/update?commit=true", [{"document-id": "x", "version": 1}]),
    ("POST", "/logInsights/select?q=*:*", None),
    ("GET", "/logInsights/export?q=*:*&fl=document-id&sort=document-id+asc", None),
    ("GET", "/logInsights/stream?expr=search(logInsights)", None),
    ("POST", "/logInsights/config", {"set-property": {"query.maxBooleanClauses": 2}}),
    ("GET", "/admin/authentication", None),
    ("POST", "/admin/authentication", {"set-user": {"mallory": "password-123456"}}),
    ("GET", "/admin/collections?action=DELETE&name=logInsights", None),
    ("GET", "/admin/cores?action=UNLOAD&core=logInsights", None),
    ("GET", "/admin/info/properties?wt=json", None),
]


@pytest.fixture
def operator(solr: SolrUnderTest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    name, password = f"op{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    people = People(tmp_path / "people.json", solr.url, SOLR_ADMIN)
    people.add(name, "operator", SecretStr(password))
    try:
        yield name, password
    finally:
        people.remove(name)


def call(solr: SolrUnderTest, method: str, path: str, auth: tuple[str, str], body=None):  # type: ignore[no-untyped-def]
    return requests.request(method, solr.url + path, json=body, auth=auth, timeout=30)


@pytest.mark.parametrize(("method", "path"), UI_READS)
def test_an_operator_makes_every_request_of_the_admin_uis_pages(
    solr: SolrUnderTest, operator: tuple[str, str], method: str, path: str
) -> None:
    answer = call(solr, method, path, operator)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])


@pytest.mark.parametrize(("method", "path", "body"), FORBIDDEN)
def test_an_operator_can_harm_nothing(
    solr: SolrUnderTest, operator: tuple[str, str], method: str, path: str, body: object
) -> None:
    answer = call(solr, method, path, operator, body)
    assert answer.status_code == 403, (path, answer.status_code, answer.text[:200])


def test_an_operator_reads_no_other_collection(
    solr: SolrUnderTest, operator: tuple[str, str]
) -> None:
    name = f"side{uuid.uuid4().hex[:6]}"
    requests.get(f"{solr.url}/admin/collections", params={"action": "CREATE", "name": name,
                 "collection.configName": "logInsights", "numShards": 1},
                 timeout=120, auth=admin_auth()).raise_for_status()  # fmt: skip
    try:
        assert call(solr, "GET", f"/{name}/select?q=*:*", operator).status_code == 403
    finally:
        requests.get(f"{solr.url}/admin/collections", params={"action": "DELETE", "name": name},
                     timeout=120, auth=admin_auth())  # fmt: skip


def test_a_removed_person_is_refused_and_people_are_kept_as_hashes(
    solr: SolrUnderTest, tmp_path: Path
) -> None:
    people = People(tmp_path / "people.json", solr.url, SOLR_ADMIN)
    name, password = f"op{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    people.add(name, "operator", SecretStr(password))
    kept = (tmp_path / "people.json").read_text()
    assert password not in kept and name in kept
    assert (tmp_path / "people.json").stat().st_mode & 0o777 == 0o600
    credentials, roles = people_security(people.all())
    assert roles == {name: ["operator"]} and " " in credentials[name], "Solr's salted hash"
    people.remove(name)
    assert call(solr, "GET", "/admin/info/system", (name, password)).status_code == 401
    with pytest.raises(ConfigurationError, match="not a person's user name"):
        people.add("loginsights-admin", "operator", SecretStr(password))


def test_the_cli_reads_the_password_from_stdin_never_the_command_line(
    solr: SolrUnderTest, tmp_path: Path
) -> None:
    from pipeline.cli import main

    name, password = f"op{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    base = ["--solr-url", solr.url, "solr", "users"]
    env = {"LOGINSIGHTS_STATE_DIR": str(tmp_path)}
    added = CliRunner().invoke(main, [*base, "add", name], input=password + "\n", env=env)
    assert added.exit_code == 0, added.output
    assert password not in added.output
    listed = CliRunner().invoke(main, [*base, "list", "--json"], env=env)
    assert f'"name": "{name}"' in listed.output and password not in listed.output
    assert call(solr, "GET", "/admin/info/system", (name, password)).status_code == 200
    mismatch = CliRunner().invoke(main, [*base, "passwd", name], input="a" * 12 + "\nb" * 1 + "\n",
                                  env=env)  # fmt: skip
    assert mismatch.exit_code == 1 and "differ" in mismatch.output
    removed = CliRunner().invoke(main, [*base, "remove", name], env=env)
    assert removed.exit_code == 0


def test_solr_secure_keeps_people_added_from_another_machine(
    solr: SolrUnderTest, tmp_path: Path
) -> None:
    """compose runs `solr secure` from its own container, whose people.json does not name the
    people added since from an operator's laptop: they keep their accounts."""
    from pipeline.cli import main

    assert solr.local is not None and solr.port is not None
    running = solr.local.running(solr.port)
    assert running is not None and running.zk_host
    laptop = People(tmp_path / "laptop" / "people.json", solr.url, SOLR_ADMIN)
    name, password = f"op{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    laptop.add(name, "operator", SecretStr(password))
    zk = solr.local.zk_credentials()
    env = {
        "LOGINSIGHTS_STATE_DIR": str(tmp_path / "container"),  # its people.json: nobody
        "LOGINSIGHTS_ZK_ADMIN_USER": zk.admin_user,
        "LOGINSIGHTS_ZK_ADMIN_PASSWORD": zk.admin_password.get_secret_value(),  # type: ignore[union-attr]
        "LOGINSIGHTS_ZK_READONLY_USER": zk.readonly_user,
        "LOGINSIGHTS_ZK_READONLY_PASSWORD": zk.readonly_password.get_secret_value(),
    }
    try:
        secured = CliRunner().invoke(main, ["solr", "secure", "--zk-host", running.zk_host],
                                     env=env)  # fmt: skip
        assert secured.exit_code == 0, secured.output
        assert call(solr, "GET", "/admin/info/system", (name, password)).status_code == 200
    finally:
        laptop.remove(name)
