"""Install the logInsights configset and create its collection (or core) on any Solr 9.

Used by ``loginsights solr init --solr-url URL``, by ``loginsights solr start`` after the local
nodes answer, and by docker-compose's one-shot service. Idempotent: run it again and the configset
is refreshed and the collection reloaded, never duplicated.

SolrCloud: the configset is uploaded as a zip with the Configsets API, the collection created with
the Collections API. Standalone: Solr has no upload API, so the configset is copied into the
node's ``configsets`` folder, which works when that folder is on this machine (the local launcher,
or a Solr you run yourself); otherwise the error says what to copy where.
"""

from __future__ import annotations

import io
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from pipeline.errors import ConfigurationError, SolrAccessError, SolrError, SolrUnavailableError
from pipeline.solr.accounts import SolrAccount
from pipeline.solr.transport import error_for_exception, error_for_response, get_json


@dataclass(frozen=True)
class Installation:
    solr_url: str
    mode: str  # "cloud" or "standalone"
    collection: str
    created: bool
    solr_version: str
    needs_reindex: tuple[str, ...] = ()  # fields whose new docValues old documents lack


def configset_zip(configset_dir: Path) -> bytes:
    """The configset's files, zipped with paths relative to conf/ as the Configsets API wants."""
    if not (configset_dir / "solrconfig.xml").is_file():
        raise ConfigurationError(
            f"{configset_dir} holds no solrconfig.xml; point --configset at "
            "solr/configsets/logInsights/conf"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(configset_dir.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(configset_dir).as_posix())
    return buffer.getvalue()


class ConfigsetInstaller:
    """Puts the logInsights configset and collection onto one Solr 9 (cluster or node)."""

    def __init__(
        self,
        solr_url: str,
        *,
        configset_dir: Path,
        collection: str = "logInsights",
        timeout: float = 60.0,
        session: requests.Session | None = None,
        account: SolrAccount | None = None,
    ) -> None:
        self.solr_url = solr_url.rstrip("/")
        self.configset_dir = configset_dir
        self.collection = collection
        self._timeout = timeout
        self._session = session or requests.Session()
        if account is not None:
            self._session.auth = account.auth

    def install(self, *, replication_factor: int | None = None, shards: int = 1) -> Installation:
        info = self._get("admin/info/system", {}, "describe itself")
        version = str(info.get("lucene", {}).get("solr-spec-version", "?"))
        if not version.startswith("9."):
            raise ConfigurationError(
                f"Solr at {self.solr_url} is version {version}; logInsights needs Solr 9.x"
            )
        before = self._doc_values_fields()
        if info.get("mode") == "solrcloud":
            created = self._install_cloud(replication_factor, shards)
            mode = "cloud"
        else:
            created = self._install_standalone(Path(str(info.get("solr_home", ""))))
            mode = "standalone"
        self._wait_searchable()
        after = self._doc_values_fields() or set()
        gained = () if created or before is None else tuple(sorted(after - before))
        return Installation(self.solr_url, mode, self.collection, created, version, gained)

    def _doc_values_fields(self) -> set[str] | None:
        """Fields of the live collection that have docValues (None if it does not exist yet)."""
        try:
            fields = self._get(
                f"{self.collection}/schema/fields", {"showDefaults": "true"}, "read the schema"
            ).get("fields", [])
        except SolrError:
            return None
        return {f["name"] for f in fields if f.get("docValues")}

    def _install_cloud(self, replication_factor: int | None, shards: int) -> bool:
        self._post(
            "admin/configs",
            {"action": "UPLOAD", "name": self.collection, "overwrite": "true"},
            configset_zip(self.configset_dir),
            "upload the configset",
        )
        status = self._get("admin/collections", {"action": "CLUSTERSTATUS"}, "list collections")
        cluster = status.get("cluster", {})
        if self.collection in cluster.get("collections", {}):
            self._get(
                "admin/collections",
                {"action": "RELOAD", "name": self.collection},
                "reload the collection",
            )
            return False
        nodes = max(1, len(cluster.get("live_nodes", [])))
        replicas = replication_factor or max(1, min(nodes, 3))
        self._get(
            "admin/collections",
            {
                "action": "CREATE",
                "name": self.collection,
                "collection.configName": self.collection,
                "numShards": shards,
                "replicationFactor": replicas,
                "maxShardsPerNode": -1,
                "waitForFinalState": "true",
            },
            "create the collection",
        )
        return True

    def _install_standalone(self, solr_home: Path) -> bool:
        target = solr_home / "configsets" / self.collection / "conf"
        if not solr_home.is_dir():
            raise ConfigurationError(
                f"Solr at {self.solr_url} runs standalone with its home at {solr_home}, which is "
                f"not on this machine; copy {self.configset_dir} to "
                f"<solr home>/configsets/{self.collection}/conf there and run init again"
            )
        if target.resolve() != self.configset_dir.resolve():
            shutil.copytree(self.configset_dir, target, dirs_exist_ok=True)
        cores = self._get(
            "admin/cores", {"action": "STATUS", "core": self.collection}, "list cores"
        )
        if cores.get("status", {}).get(self.collection):
            self._get(
                "admin/cores", {"action": "RELOAD", "core": self.collection}, "reload the core"
            )
            return False
        self._get(
            "admin/cores",
            {"action": "CREATE", "name": self.collection, "configSet": self.collection},
            "create the core",
        )
        return True

    def _wait_searchable(self, deadline_seconds: float = 60.0) -> None:
        deadline = time.monotonic() + deadline_seconds
        while True:
            try:
                self._get(f"{self.collection}/select", {"q": "*:*", "rows": 0}, "search")
                return
            except SolrError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _get(self, path: str, params: dict[str, Any], what: str) -> dict[str, Any]:
        return get_json(
            self._session,
            f"{self.solr_url}/{path}",
            params={**params, "wt": "json"},
            timeout=self._timeout,
            what=what,
        )

    def _post(self, path: str, params: dict[str, Any], body: bytes, what: str) -> None:
        url = f"{self.solr_url}/{path}"
        try:
            response = self._session.post(
                url,
                params={**params, "wt": "json"},
                data=body,
                headers={"Content-Type": "application/octet-stream"},
                timeout=self._timeout,
            )
        except requests.RequestException as err:
            raise error_for_exception(err, url, what) from err
        if not response.ok:
            raise error_for_response(response, what)


def wait_until_answering(
    solr_url: str, *, deadline_seconds: float, session: requests.Session | None = None
) -> None:
    """Block until Solr answers /admin/info/system, or raise SolrUnavailableError.

    A Solr that asks for credentials (401) is answering: that is all this waits for.
    """
    http = session or requests.Session()
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            get_json(
                http,
                f"{solr_url.rstrip('/')}/admin/info/system",
                params={"wt": "json"},
                timeout=5,
                what="answer",
            )
            return
        except SolrAccessError:
            return
        except SolrUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


__all__ = ["ConfigsetInstaller", "Installation", "configset_zip", "wait_until_answering"]
