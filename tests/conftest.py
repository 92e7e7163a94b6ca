"""Real Solr for the tests, started once per session.

Which Solr, in this order (DESIGN.md, "Running Solr"):
1. ``LOGINSIGHTS_TEST_SOLR_URL`` (SolrCloud) / ``LOGINSIGHTS_TEST_SOLR_STANDALONE_URL``: a Solr 9
   you run; the logInsights configset is installed on it. Give its autoDeletePeriodSeconds in
   ``LOGINSIGHTS_TEST_AUTO_DELETE_SECONDS`` (default 300) so the expiry test waits long enough.
2. A Docker engine, if one answers: the official ``solr:9.10.1`` image.
3. Otherwise the Maven-built launcher (``loginsights solr start``) on free ports.
There is no fake Solr: without one of these the tests fail.

Solr asks for credentials in every suite, as it does for users: the session's accounts
(``TEST_ACCOUNTS``, generated once) are what the launched Solr's security.json holds, and they are
put in the environment (``LOGINSIGHTS_SOLR_<ROLE>_PASSWORD``), so every ``Settings`` built in a
test, and every subprocess, logs in as a user would. For a Solr you run (1.), give its passwords
in those variables. ``select`` and ``admin_auth`` check Solr as its admin, beside the code under
test.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from pipeline.documents import failure_renderer
from pipeline.indexing import LogInsightsIndex
from pipeline.models import FailedAttempt, Platform
from pipeline.query import LogInsightsQuery
from pipeline.settings import REPO_ROOT, Settings
from pipeline.solr.accounts import SolrAccount, SolrAccounts
from pipeline.solr.install import ConfigsetInstaller, wait_until_answering
from pipeline.solr.local import LocalSolr
from pipeline.wiring import Wiring

SOLR_IMAGE = "solr:9.10.1"
TEST_AUTO_DELETE_SECONDS = 2


def _session_accounts() -> SolrAccounts:
    given = Settings().solr_accounts() if os.environ.get("LOGINSIGHTS_TEST_SOLR_URL") else None
    accounts = given or SolrAccounts.generate()
    for account in accounts:
        os.environ[f"LOGINSIGHTS_SOLR_{account.role.name}_PASSWORD"] = account.auth[1]
    return accounts


TEST_ACCOUNTS = _session_accounts()


def admin_auth() -> tuple[str, str]:
    """Basic auth of the session's Solr admin, for requests that check Solr directly."""
    return TEST_ACCOUNTS.admin.auth


SOLR_INDEXER: SolrAccount = TEST_ACCOUNTS.indexer
SOLR_READER: SolrAccount = TEST_ACCOUNTS.reader
SOLR_ADMIN: SolrAccount = TEST_ACCOUNTS.admin
CONFIGSET = REPO_ROOT / "solr" / "configsets" / "logInsights" / "conf"


@dataclass
class SolrUnderTest:
    url: str
    mode: str
    auto_delete_period_seconds: int
    local: LocalSolr | None = None
    port: int | None = None


def free_port(count: int = 1) -> int:
    """A port P such that P..P+count-1 are free on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + count >= 65535:
            continue
        if all(_is_free(candidate) for candidate in range(port, port + count)):
            return port
    raise RuntimeError("no free ports on 127.0.0.1")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _docker_client():  # type: ignore[no-untyped-def]
    try:
        import docker

        client = docker.from_env(timeout=5)
        client.ping()
        return client
    except Exception:  # any failure means: no usable engine here
        return None


def _solr_in_docker(mode: str) -> Iterator[SolrUnderTest]:
    client = _docker_client()
    assert client is not None
    command = ["solr-foreground", "-c"] if mode == "cloud" else ["solr-foreground"]
    container = client.containers.create(
        SOLR_IMAGE,
        command,
        auto_remove=True,
        environment={
            "SOLR_OPTS": f"-Dloginsights.autoDeletePeriodSeconds={TEST_AUTO_DELETE_SECONDS}"
        },
        ports={"8983/tcp": ("127.0.0.1", None)},
    )
    try:
        if mode == "standalone":
            _put_security_json(container, "/var/solr/data", mode)
        container.start()
        container.reload()
        port = int(container.ports["8983/tcp"][0]["HostPort"])
        url = f"http://127.0.0.1:{port}/solr"
        wait_until_answering(url, deadline_seconds=120)
        if mode == "cloud":  # Solr watches /security.json in ZooKeeper and applies it at once
            _put_security_json(container, "/tmp", mode)
            container.exec_run(["bin/solr", "zk", "cp", "file:/tmp/security.json",
                                "zk:/security.json", "-z", "localhost:9983"])  # fmt: skip
        if mode == "standalone":
            # standalone Solr has no upload API: copy the configset into the container first
            import io
            import tarfile

            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as archive:
                archive.add(CONFIGSET, arcname="logInsights/conf")
            container.exec_run(["mkdir", "-p", "/var/solr/data/configsets"])
            container.put_archive("/var/solr/data/configsets", buffer.getvalue())
            container.exec_run(["bin/solr", "create", "-c", "logInsights", "-d", "logInsights",
                                "--credentials", ":".join(admin_auth())])  # fmt: skip
        else:
            ConfigsetInstaller(url, configset_dir=CONFIGSET, account=TEST_ACCOUNTS.admin).install()
        yield SolrUnderTest(url, mode, TEST_AUTO_DELETE_SECONDS)
    finally:
        container.stop(timeout=10)


def _put_security_json(container, folder: str, mode: str) -> None:  # type: ignore[no-untyped-def]
    import io
    import json
    import tarfile

    security = json.dumps(
        TEST_ACCOUNTS.security_json(
            collection="logInsights", searchable=["logInsights"], standalone=mode == "standalone"
        )
    ).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("security.json")
        info.size = len(security)
        archive.addfile(info, io.BytesIO(security))
    container.put_archive(folder, buffer.getvalue())


def _solr_from_launcher(mode: str, state_dir: Path) -> Iterator[SolrUnderTest]:
    local = LocalSolr(
        launcher_dir=REPO_ROOT / "solr" / "launcher",
        configset_dir=CONFIGSET,
        state_dir=state_dir,
        auto_delete_period_seconds=TEST_AUTO_DELETE_SECONDS,
        heap="512m",
        accounts=TEST_ACCOUNTS,
    )
    port = free_port()
    solr, _ = local.start(mode=mode, port=port)
    try:
        yield SolrUnderTest(solr.solr_url, mode, TEST_AUTO_DELETE_SECONDS, local=local, port=port)
    finally:
        local.stop(port)


def _solr(
    mode: str, env_var: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SolrUnderTest]:
    given = os.environ.get(env_var)
    if given:
        ConfigsetInstaller(given, configset_dir=CONFIGSET, account=TEST_ACCOUNTS.admin).install()
        period = int(os.environ.get("LOGINSIGHTS_TEST_AUTO_DELETE_SECONDS", "300"))
        yield SolrUnderTest(given.rstrip("/"), mode, period)
    elif _docker_client() is not None:
        yield from _solr_in_docker(mode)
    else:
        yield from _solr_from_launcher(mode, tmp_path_factory.mktemp(f"solr-{mode}"))


@pytest.fixture(scope="session")
def solr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SolrUnderTest]:
    """A real SolrCloud with the logInsights collection."""
    yield from _solr("cloud", "LOGINSIGHTS_TEST_SOLR_URL", tmp_path_factory)


@pytest.fixture(scope="session")
def standalone_solr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SolrUnderTest]:
    """A real standalone Solr node with the logInsights core."""
    yield from _solr("standalone", "LOGINSIGHTS_TEST_SOLR_STANDALONE_URL", tmp_path_factory)


@pytest.fixture
def settings(solr: SolrUnderTest, tmp_path: Path) -> Settings:
    return Settings(solr_url=solr.url, state_dir=tmp_path / "state", solr_retry_attempts=2)


@pytest.fixture
def index(settings: Settings) -> LogInsightsIndex:
    return Wiring(settings, {}).index


@pytest.fixture
def log_query(settings: Settings) -> LogInsightsQuery:
    return Wiring(settings, {}).search


@pytest.fixture
def shop() -> str:
    """A shop name no other test uses, so tests can share one collection."""
    return f"shop-{uuid.uuid4().hex[:10]}"


def record_seed_failure(
    index: LogInsightsIndex, shop: str, platform: Platform = Platform.SHOPIFY
) -> None:
    """The failed attempt of seed 000's sample (order #10101011010), for ``shop``; searchable.

    Recorded the production way: facts in a (throwaway) ledger, the document through its outbox.
    """
    from pipeline.flusher import OutboxFlusher
    from pipeline.ledger import Ledger

    attempt = FailedAttempt(
        platform=platform,
        shop=shop,
        order_id="10101011010",
        order_name="#10101011010",
        order_created_at=datetime.fromtimestamp(1704335862, UTC),
        error_message="Service [createShopifyOrder] target threw an exception (null)",
        site=f"https://{shop}.myshopify.com/83950764316/orders/e218/authenticate?key=k",
    )
    with tempfile.TemporaryDirectory() as folder, Ledger(Path(folder) / "l.sqlite3") as ledger:
        ledger.record_failures(
            [attempt], render=failure_renderer("+60DAYS", ZoneInfo("America/New_York"))
        )
        report = OutboxFlusher(ledger, index).flush()
    assert report.posted == 1, report


def wait_for(predicate, *, seconds: float, interval: float = 0.25):  # type: ignore[no-untyped-def]
    """Poll until predicate() is truthy; return its last value (falsy on timeout)."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def when_count(fetch, count: int):  # type: ignore[no-untyped-def]
    """A wait_for predicate: fetch()'s list once it holds exactly ``count`` items."""

    def check():  # type: ignore[no-untyped-def]
        items = fetch()
        return items if len(items) == count else None

    return check


def select(solr_url: str, **params: object) -> dict:  # type: ignore[type-arg]
    """A plain /select, for checking what Solr holds independently of the code under test."""
    response = requests.get(
        f"{solr_url}/logInsights/select",
        params={"wt": "json", **params},
        timeout=10,
        auth=admin_auth(),
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


# -- shops, simulators and workers ---------------------------------------------------------

from datetime import UTC, datetime, timedelta  # noqa: E402

from pydantic import SecretStr  # noqa: E402

from pipeline.flusher import OutboxFlusher  # noqa: E402
from pipeline.intake import ShopContext  # noqa: E402
from pipeline.ledger import Ledger  # noqa: E402
from pipeline.models import Platform  # noqa: E402
from pipeline.shops import ShopConfig  # noqa: E402
from pipeline.simulators import (  # noqa: E402
    Faults,
    OrderCatalog,
    SfccSimulator,
    ShopifySimulator,
    ShoplazzaSimulator,
    SimulatorServer,
)
from pipeline.sources.sfcc import SfccSource  # noqa: E402
from pipeline.sources.shopify import ShopifySource  # noqa: E402
from pipeline.sources.shoplazza import ShoplazzaSource  # noqa: E402
from pipeline.sources.transport import ShopTransport  # noqa: E402
from pipeline.windows import Clock  # noqa: E402
from pipeline.worker import ImportWorker  # noqa: E402

SIMULATORS: dict[Platform, type[SimulatorServer]] = {
    Platform.SHOPIFY: ShopifySimulator,
    Platform.SHOPLAZZA: ShoplazzaSimulator,
    Platform.SFCC: SfccSimulator,
}


def simulator(
    platform: Platform, catalog: OrderCatalog, faults: Faults | None = None, **options: object
) -> SimulatorServer:
    """A running simulator; rate limits are made roomy unless a test asks otherwise."""
    if platform is Platform.SHOPIFY:
        options.setdefault("bucket_size", 10_000)
        options.setdefault("leak_rate", 10_000.0)
        options.setdefault("graphql_maximum", 1_000_000.0)
        options.setdefault("graphql_restore_rate", 1_000_000.0)
    if platform is Platform.SHOPLAZZA:
        options.setdefault("bucket_size", 10_000)
        options.setdefault("leak_rate", 10_000.0)
    return SIMULATORS[platform](catalog, faults=faults, **options).start()  # type: ignore[arg-type]


def fast_transport(shop: str, attempts: int = 6) -> ShopTransport:
    """Real retry policy with short waits, so tests of outages take seconds."""
    return ShopTransport(
        shop,
        max_attempts=attempts,
        max_wait_seconds=0.3,
        backoff_seconds=0.02,
    )


def source_for(sim: SimulatorServer, shop: str, attempts: int = 6):  # type: ignore[no-untyped-def]
    transport = fast_transport(shop, attempts)
    if isinstance(sim, ShopifySimulator):
        return ShopifySource(shop, sim.url, SecretStr(sim.access_token), transport=transport)
    if isinstance(sim, ShoplazzaSimulator):
        return ShoplazzaSource(shop, sim.url, SecretStr(sim.access_token), transport=transport)
    assert isinstance(sim, SfccSimulator)
    return SfccSource(
        shop,
        sim.url,
        auth_url=sim.url,
        organization_id=sim.organization_id,
        site_id=sim.site_id,
        client_id=sim.client_id,
        client_secret=SecretStr(sim.client_secret),
        transport=transport,
    )


def past_day(hours: float = 6) -> tuple[datetime, datetime]:
    """A span of creation times that ended ten minutes ago, on whole seconds."""
    end = (datetime.now(UTC) - timedelta(minutes=10)).replace(microsecond=0)
    return end - timedelta(hours=hours), end


def worker_for_sim(
    sim: SimulatorServer,
    shop: str,
    ledger: Ledger,
    *,
    start: datetime | None,
    flusher: OutboxFlusher | None = None,
    attempts: int = 6,
    clock: Clock | None = None,
    **shop_options: object,
) -> ImportWorker:
    platform = Platform(sim.platform)
    config = ShopConfig.model_validate(
        {
            "name": shop,
            "platform": platform,
            "base_url": sim.url,
            "start": start,
            "window_minutes": 60,
            "settle_lag_seconds": 60,
            **shop_options,
        }
    )
    return ImportWorker(
        ShopContext(
            shop=config,
            source=source_for(sim, shop, attempts),
            ledger=ledger,
            flusher=flusher,
            clock=clock or ledger.clock,
        )
    )


# -- PostgreSQL: a throwaway cluster from the machine's server binaries ---------------------

import shutil  # noqa: E402
import subprocess  # noqa: E402


def _pg_bin() -> Path:
    """The newest PostgreSQL server binaries Debian installed (15 on these machines)."""
    given = os.environ.get("LOGINSIGHTS_TEST_PG_BIN")
    if given:
        return Path(given)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL 15 on 127.0.0.1 (initdb + pg_ctl), with the ledger's schema applied.

    ``LOGINSIGHTS_TEST_LEDGER_URL`` names a server you run instead.
    """
    given = os.environ.get("LOGINSIGHTS_TEST_LEDGER_URL")
    if given:
        yield given
        return
    assert (PG_BIN / "initdb").exists(), (
        f"no PostgreSQL server binaries in {PG_BIN}: apt-get install postgresql "
        "(scripts/test.sh does), or set LOGINSIGHTS_TEST_LEDGER_URL"
    )
    # outside pytest's private (0700) temp folder, so that the postgres user can reach it
    data = Path(tempfile.mkdtemp(prefix="loginsights-pg-")) / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data.parent, "postgres")
        shutil.chown(data, "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                      "--no-sync", "-E", "UTF8"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    options = (
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    subprocess.run(
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                      str(data / "server.log"), "-w", "start"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    try:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres", autocommit=True) as db:
            db.execute("CREATE DATABASE loginsights")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/loginsights"
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            capture_output=True, timeout=120,
        )  # fmt: skip
        shutil.rmtree(data.parent, ignore_errors=True)


def empty_postgres_ledger(url: str) -> None:
    """Bring the shared test database to the newest schema with every table empty."""
    from sqlalchemy import create_engine, text

    from pipeline.ledger.migrations import upgrade
    from pipeline.ledger.schema import metadata

    engine = create_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as connection:
            names = ", ".join(table.name for table in metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """The ledger on each engine: a SQLite file, and a real PostgreSQL database."""
    if request.param == "sqlite":
        store = Ledger(tmp_path / "ledger.sqlite3")
    else:
        url = request.getfixturevalue("postgres_url")
        empty_postgres_ledger(url)
        store = Ledger(url)
    yield store
    store.close()


@pytest.fixture
def flusher(ledger: Ledger, index: LogInsightsIndex) -> OutboxFlusher:
    return OutboxFlusher(ledger, index)


# -- the HTTP API, served by uvicorn on a free port ----------------------------------------

import threading  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` over real HTTP on 127.0.0.1; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, seconds=20), "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- the fast tier: `pytest -m "not slow"` runs what needs no server ----------------------

SERVER_FIXTURES = {"solr", "standalone_solr", "postgres_url", "browser", "cluster", "console",
                   "index", "log_query", "settings", "flusher", "other_collection"}  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs real Solr, PostgreSQL or a browser is ``slow``; the rest is the fast
    tier (pure modules and in-process simulators), for the edit-test loop."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if names & SERVER_FIXTURES or params.get("ledger") == "postgresql":
            item.add_marker(pytest.mark.slow)


def assert_closed_to_anonymous(hosts: str, path: str) -> None:
    """An anonymous ZooKeeper client (no chroot: with one it could not even start, since it
    may not read it) can neither read ``path`` nor write it nor create beside it."""
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoAuthError

    anonymous = KazooClient(hosts)
    anonymous.start(timeout=10)
    try:
        with pytest.raises(NoAuthError):
            anonymous.get(path)
        with pytest.raises(NoAuthError):
            anonymous.set(path, b"changed")
        with pytest.raises(NoAuthError):
            anonymous.create(path.rsplit("/", 1)[0] + "/evil", b"")
    finally:
        anonymous.stop()


class JsonReceiver:
    """A real HTTP server on 127.0.0.1 that keeps every JSON body posted to it: a chat webhook,
    Alertmanager's webhook receiver."""

    def __init__(self) -> None:
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        bodies: list[dict[str, object]] = []
        self.bodies = bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
