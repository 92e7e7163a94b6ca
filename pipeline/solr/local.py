"""A real Solr 9 on this machine, built from Maven Central (DESIGN.md, "Running Solr").

``solr/launcher`` is a Maven project depending on ``solr-test-framework``; its main class starts
SolrCloud nodes with an embedded ZooKeeper (or one standalone node) on 127.0.0.1 and writes a
ready file. This module builds it once (cached by a hash of its sources), runs it in the
background, waits until it answers, and installs the logInsights configset over HTTP exactly as
``loginsights solr init`` does on any other Solr.

Each local Solr is known by its first port: its state (nodes' data, ready file, log) lives under
``<state_dir>/solr/<port>/`` and survives a stop, so a restart finds its documents again.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from pipeline.errors import LocalSolrError, SolrError
from pipeline.settings import Settings
from pipeline.solr.accounts import SolrAccounts, accounts_or_new, write_private
from pipeline.solr.install import ConfigsetInstaller, Installation, wait_until_answering
from pipeline.solr.launcher_process import (
    LAUNCHER_CLASS,
    is_launcher,
    log_tail,
    port_in_use,
    wait_gone,
)
from pipeline.solr.people import People, people_security
from pipeline.solr.transport import get_json
from pipeline.solr.zk_credentials import ZkCredentials, credentials_or_new

_STAMP = "loginsights-build.sha256"


@dataclass(frozen=True)
class RunningSolr:
    """A local Solr that answered: where it listens and where its log is."""

    mode: str
    pid: int
    port: int
    urls: tuple[str, ...]
    zk_host: str
    log_path: Path

    @property
    def solr_url(self) -> str:
        return self.urls[0]


@dataclass(frozen=True)
class LocalSolrStatus:
    port: int
    running: bool
    healthy: bool
    solr: RunningSolr | None
    documents: int | None
    detail: str


class LocalSolr:
    """Builds, starts, inspects and stops the Maven-built Solr."""

    def __init__(
        self,
        *,
        launcher_dir: Path,
        configset_dir: Path,
        state_dir: Path,
        collection: str = "logInsights",
        auto_delete_period_seconds: int = 300,
        java: str = "java",
        maven: str = "mvn",
        heap: str = "1g",
        accounts: SolrAccounts | None = None,
        credentials_path: Path | None = None,
        zk_credentials_path: Path | None = None,
        searchable: tuple[str, ...] = (),
    ) -> None:
        self.launcher_dir = launcher_dir
        self.configset_dir = configset_dir
        self.state_dir = state_dir
        self.collection = collection
        self.auto_delete_period_seconds = auto_delete_period_seconds
        self.java = java
        self.maven = maven
        self.heap = heap
        self.accounts = accounts
        self.credentials_path = credentials_path or state_dir / "solr" / "credentials.json"
        self.zk_credentials_path = (
            zk_credentials_path or state_dir / "solr" / "zk-credentials.properties"
        )
        self.searchable = searchable

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalSolr:
        return cls(
            launcher_dir=settings.launcher_dir,
            configset_dir=settings.configset_dir,
            state_dir=settings.state_dir,
            collection=settings.collection,
            auto_delete_period_seconds=settings.auto_delete_period_seconds,
            accounts=settings.solr_accounts(),
            credentials_path=settings.credentials_path,
            zk_credentials_path=settings.zk_credentials_path,
            searchable=tuple(settings.api_allowed_cores),
        )

    # who may do what ----------------------------------------------------------------------

    def ensure_accounts(self) -> SolrAccounts:
        """The accounts this Solr asks for: those given, else those kept in the credentials
        file, else new ones generated into it (0600) on this first start."""
        self.accounts = accounts_or_new(self.accounts, self.credentials_path)
        return self.accounts

    def zk_credentials(self) -> ZkCredentials:
        """ZooKeeper's digest users of this cluster: kept in the state dir (0600), generated on
        the first start; the embedded ZooKeeper asks every client for them."""
        return credentials_or_new(self.zk_credentials_path)

    def _write_security_json(self, run_dir: Path, mode: str) -> Path:
        people = People(self.state_dir / "solr" / "people.json", None, None).all()
        security = self.ensure_accounts().security_json(
            collection=self.collection,
            searchable=self.searchable,
            standalone=mode == "standalone",
            people=people_security(people),
        )
        path = run_dir / "security.json"
        write_private(path, json.dumps(security, indent=2))
        return path

    def _admin_session(self) -> requests.Session:
        session = requests.Session()
        session.auth = self.ensure_accounts().admin.auth
        return session

    # building ---------------------------------------------------------------------------

    def source_hash(self) -> str:
        digest = hashlib.sha256()
        files = [self.launcher_dir / "pom.xml", *sorted((self.launcher_dir / "src").rglob("*"))]
        for path in files:
            if path.is_file():
                digest.update(path.relative_to(self.launcher_dir).as_posix().encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()

    def is_built(self) -> bool:
        stamp = self.launcher_dir / "target" / _STAMP
        return stamp.is_file() and stamp.read_text().strip() == self.source_hash()

    def build(self, *, force: bool = False) -> str:
        """Build the launcher with Maven unless an up-to-date build exists; return the classpath."""
        target = self.launcher_dir / "target"
        if force or not self.is_built():
            command = [self.maven, "-q", "-B", "-f", str(self.launcher_dir / "pom.xml"), "package"]
            try:
                result = subprocess.run(command, capture_output=True, text=True, check=False)
            except FileNotFoundError as err:
                raise LocalSolrError(
                    f"{self.maven!r} was not found; install Maven and Java 17, or give a running "
                    "Solr with --solr-url"
                ) from err
            if result.returncode != 0:
                tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
                raise LocalSolrError(
                    f"building the Solr launcher failed (mvn exit {result.returncode}):\n{tail}\n"
                    "Check that Maven Central is reachable and run `loginsights solr build` again"
                )
            (target / _STAMP).write_text(self.source_hash())
        jars = sorted(target.glob("solr-launcher-*.jar"))
        if not jars:
            raise LocalSolrError(f"no launcher jar in {target}; run `loginsights solr build`")
        return os.pathsep.join([str(jars[-1]), str(target / "lib" / "*")])

    # running ----------------------------------------------------------------------------

    def run_dir(self, port: int) -> Path:
        return self.state_dir / "solr" / str(port)

    def _ready_file(self, port: int) -> Path:
        return self.run_dir(port) / "ready.json"

    def running(self, port: int) -> RunningSolr | None:
        """The local Solr started on this port, if its process is alive."""
        ready = self._ready_file(port)
        if not ready.is_file():
            return None
        data = json.loads(ready.read_text())
        if not is_launcher(int(data["pid"])):
            ready.unlink(missing_ok=True)
            return None
        return RunningSolr(
            mode=data["mode"],
            pid=int(data["pid"]),
            port=port,
            urls=tuple(data["urls"]),
            zk_host=data.get("zkHost", ""),
            log_path=self.run_dir(port) / "solr.log",
        )

    def start(
        self,
        *,
        mode: str = "cloud",
        nodes: int = 1,
        port: int = 8983,
        shards: int = 1,
        replication_factor: int | None = None,
        timeout: float = 180.0,
    ) -> tuple[RunningSolr, Installation]:
        """Start (or find already running) a local Solr and install logInsights on it.

        On a running cluster it brings back any node stopped with ``stop_node``.
        """
        if mode not in ("cloud", "standalone"):
            raise LocalSolrError(f"mode must be cloud or standalone, not {mode!r}")
        if mode == "standalone" and nodes != 1:
            raise LocalSolrError("standalone mode runs exactly one node; drop --nodes")
        solr = self.running(port)
        if solr is not None and solr.mode != mode:
            raise LocalSolrError(
                f"a {solr.mode} Solr already runs on port {port}; stop it with "
                f"`loginsights solr stop --port {port}` or choose another --port"
            )
        if solr is None:
            solr = self._launch(mode=mode, nodes=nodes, port=port, timeout=timeout)
        elif mode == "cloud":
            for node_port in range(solr.port, solr.port + len(solr.urls)):
                if not port_in_use(node_port):
                    self.node_control(port, node_port, "start", timeout=timeout)
        for url in solr.urls:
            wait_until_answering(url, deadline_seconds=timeout)
        installer = ConfigsetInstaller(
            solr.solr_url,
            configset_dir=self.configset_dir,
            collection=self.collection,
            account=self.ensure_accounts().admin,
        )
        return solr, installer.install(
            replication_factor=(replication_factor or len(solr.urls)) if mode == "cloud" else None,
            shards=shards,
        )

    def stop_node(self, port: int, node_port: int, timeout: float = 60.0) -> None:
        """Stop one node of a running local cluster (to try node loss); `start` brings it back."""
        self.node_control(port, node_port, "stop", timeout=timeout)

    def node_control(self, port: int, node_port: int, action: str, *, timeout: float) -> None:
        solr = self.running(port)
        if solr is None or solr.mode != "cloud":
            raise LocalSolrError(f"no local SolrCloud runs on port {port}; start it first")
        if not port <= node_port < port + len(solr.urls):
            raise LocalSolrError(
                f"the cluster on port {port} has nodes on ports {port}..{port + len(solr.urls) - 1}"
                f", not {node_port}"
            )
        control = self.run_dir(port) / "cloud" / "control"
        for old in control.glob(f"*-{action}-{node_port}"):
            old.unlink(missing_ok=True)
        (control / f"{action}-{node_port}").write_text("")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (control / f"done-{action}-{node_port}").exists():
                (control / f"done-{action}-{node_port}").unlink(missing_ok=True)
                if action == "start":
                    wait_until_answering(
                        f"http://127.0.0.1:{node_port}/solr", deadline_seconds=timeout
                    )
                return
            failed = control / f"failed-{action}-{node_port}"
            if failed.exists():
                reason = failed.read_text()
                failed.unlink(missing_ok=True)
                raise LocalSolrError(f"could not {action} the node on port {node_port}: {reason}")
            time.sleep(0.2)
        raise LocalSolrError(f"the node on port {node_port} did not {action} within {timeout:.0f}s")

    def _launch(self, *, mode: str, nodes: int, port: int, timeout: float) -> RunningSolr:
        for candidate in range(port, port + nodes):
            if port_in_use(candidate):
                raise LocalSolrError(
                    f"port {candidate} on 127.0.0.1 is in use by another program; choose "
                    "another --port"
                )
        classpath = self.build()
        run_dir = self.run_dir(port)
        run_dir.mkdir(parents=True, exist_ok=True)
        ready = self._ready_file(port)
        ready.unlink(missing_ok=True)
        log_path = run_dir / "solr.log"
        command = [
            self.java,
            f"-Xmx{self.heap}",
            f"-Dloginsights.autoDeletePeriodSeconds={self.auto_delete_period_seconds}",
            "-Dsolr.hideStackTrace=true",  # no Java stack trace in any answer
            f"-Dsolr.log.dir={run_dir}",
            "-Dsolr.install.dir=" + str(run_dir),
            "-cp",
            classpath,
            LAUNCHER_CLASS,
            "--mode",
            mode,
            "--port",
            str(port),
            "--nodes",
            str(nodes),
            "--home",
            str(run_dir / mode),
            "--ready-file",
            str(ready),
            "--security-json",
            str(self._write_security_json(run_dir, mode)),
        ]
        if mode == "cloud":
            self.zk_credentials()
            command += ["--zk-credentials", str(self.zk_credentials_path)]
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=run_dir,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not ready.is_file():
            if process.poll() is not None:
                raise LocalSolrError(
                    f"Solr exited during start-up (exit {process.returncode}); its log "
                    f"{log_path} ends with:\n{log_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                process.kill()
                raise LocalSolrError(
                    f"Solr did not start within {timeout:.0f}s; see {log_path}:\n"
                    + log_tail(log_path)
                )
            time.sleep(0.2)
        solr = self.running(port)
        if solr is None:
            raise LocalSolrError(f"Solr wrote {ready} but is gone; see {log_path}")
        return solr

    def status(self, port: int = 8983, session: requests.Session | None = None) -> LocalSolrStatus:
        solr = self.running(port)
        if solr is None:
            return LocalSolrStatus(port, False, False, None, None, "not running")
        http = session or self._admin_session()
        try:
            body = get_json(
                http,
                f"{solr.solr_url}/{self.collection}/select",
                params={"q": "*:*", "rows": 0, "wt": "json"},
                timeout=5,
                what="count documents",
            )
        except SolrError as err:
            return LocalSolrStatus(port, True, False, solr, None, str(err))
        documents = int(body["response"]["numFound"])
        return LocalSolrStatus(port, True, True, solr, documents, "healthy")

    def stop(self, port: int = 8983, timeout: float = 60.0) -> bool:
        """Stop the local Solr on this port; False when none was running."""
        solr = self.running(port)
        if solr is None:
            return False
        os.kill(solr.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while is_launcher(solr.pid):
            if time.monotonic() > deadline:
                os.kill(solr.pid, signal.SIGKILL)
                break
            time.sleep(0.2)
        wait_gone(solr.pid)
        self._ready_file(port).unlink(missing_ok=True)
        return True


__all__ = ["LAUNCHER_CLASS", "LocalSolr", "LocalSolrStatus", "RunningSolr"]
