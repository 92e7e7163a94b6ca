"""The documented request (seed 000), issued exactly as documented.

``{"json": {"params": {"q": "docType:SHOPIFY_ORDER"}}, "coreName": "logInsights"}`` becomes one
request to the core's ``/select`` handler carrying the ``json`` value as Solr's ``json``
parameter, serialized compactly, so that Solr echoes it unchanged in
``responseHeader.params.json``. Solr's answer is handed back as Solr gave it: status and body.
The CLI, the HTTP endpoint and scripts all go through here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from pipeline.errors import (
    ConfigurationError,
    SolrAccessError,
    SolrUnavailableError,
)
from pipeline.models import redact_url
from pipeline.solr.accounts import SolrAccount
from pipeline.solr.transport import ACCESS_ADVICE, LiveNodeSource, SolrNodes

DOCUMENTED_CORE = "logInsights"
# The configset's search handler whose invariants repeat the API's limits (solrconfig.xml).
SEARCH_HANDLER = "/search"


def compact_json(value: Any) -> str:
    """The serialization Solr will echo back: no spaces, Unicode kept as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def documented_request(
    q: str,
    *,
    fq: Sequence[str] = (),
    rows: int | None = None,
    sort: str | None = None,
    start: int | None = None,
    fl: str | None = None,
) -> dict[str, Any]:
    """The ``json`` value of a documented request; only the keys given are present."""
    params: dict[str, Any] = {"q": q}
    if fl:
        params["fl"] = fl
    if fq:
        params["fq"] = list(fq) if len(fq) > 1 else fq[0]
    if rows is not None:
        params["rows"] = rows
    if start is not None:
        params["start"] = start
    if sort:
        params["sort"] = sort
    return {"params": params}


def solr_reason(message: str) -> str:
    """Solr's error message in one line: a parser error's first line (with its position), not
    the two dozen lines of what the parser was expecting."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    for prefix in (
        "org.apache.solr.search.SyntaxError: ",
        "org.apache.solr.common.SolrException: ",
    ):
        first = first.removeprefix(prefix)
    return first[:300]


@dataclass(frozen=True)
class SolrAnswer:
    """Solr's response, untouched: the HTTP status and the body as Solr wrote it."""

    status: int
    body: bytes
    content_type: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")  # Solr writes UTF-8

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.body)
        return body

    def reason(self) -> str:
        """Why Solr refused the request, in one line."""
        try:
            message = str(self.json().get("error", {}).get("msg", ""))
        except ValueError:
            message = self.text[:300]
        return solr_reason(message) or f"HTTP {self.status}"

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def is_query_failure(self) -> bool:
        """Solr's own 500 for a query it could not run (a stack overflow): the caller's fault."""
        return self.status == 500


class _SearchRequests:
    """What the sync and async queries share: where to send, what to send, how to read it."""

    def __init__(
        self,
        solr_url: str,
        *,
        allowed_cores: Sequence[str] = (DOCUMENTED_CORE,),
        timeout: float = 10.0,
        handler: str = SEARCH_HANDLER,
        live: LiveNodeSource | None = None,
    ) -> None:
        self._nodes = SolrNodes(solr_url, live)
        self._allowed = tuple(allowed_cores)
        self._timeout = timeout
        self._handler = handler

    def _path(self, core_name: str) -> str:
        if core_name not in self._allowed:
            raise ConfigurationError(
                f"coreName {core_name!r} is not one of the allowed cores "
                f"{list(self._allowed)}; use one of those"
            )
        return f"/{core_name}{self._handler}"

    @staticmethod
    def _form(json_value: dict[str, Any]) -> dict[str, str]:
        return {"json": compact_json(json_value)}

    @staticmethod
    def _unreachable(err: Exception, url: str) -> SolrUnavailableError:
        return SolrUnavailableError(
            f"Solr at {redact_url(url)} could not be reached to run the query "
            f"({type(err).__name__}); start it with `loginsights solr start` or check --solr-url",
            url=url,
        )

    @staticmethod
    def _answer(status: int, content_type: str, body: bytes, url: str) -> SolrAnswer:
        if status == 404 and "/solr/" not in urlsplit(url).path:
            raise SolrUnavailableError(
                f"{redact_url(url)} answered HTTP 404: the Solr URL looks wrong; a Solr base "
                "URL ends in /solr, e.g. --solr-url http://127.0.0.1:8983/solr",
                url=url,
                status=status,
            )
        if status in ACCESS_ADVICE:
            raise SolrAccessError(
                f"Solr at {redact_url(url)} refused the query (HTTP {status}): "
                f"{ACCESS_ADVICE[status]}",
                url=url,
                status=status,
            )
        if status == 404 or (status >= 500 and "json" not in content_type):
            raise SolrUnavailableError(
                f"Solr at {redact_url(url)} answered HTTP {status}: the collection is loading, "
                "restarting or lacks the /search handler; check `loginsights solr status`, run "
                "`loginsights solr init` after an upgrade, and try again",
                url=url,
                status=status,
            )
        if status in (502, 503, 504):
            raise SolrUnavailableError(
                f"Solr at {redact_url(url)} is unavailable (HTTP {status}); try again shortly",
                url=url,
                status=status,
            )
        return SolrAnswer(status=status, body=body, content_type=content_type)


class LogInsightsQuery(_SearchRequests):
    """Runs documented requests against the guarded search handler of one allowed core."""

    def __init__(
        self,
        solr_url: str,
        *,
        allowed_cores: Sequence[str] = (DOCUMENTED_CORE,),
        timeout: float = 10.0,
        session: requests.Session | None = None,
        account: SolrAccount | None = None,
        live: LiveNodeSource | None = None,
    ) -> None:
        super().__init__(solr_url, allowed_cores=allowed_cores, timeout=timeout, live=live)
        self._session = session or requests.Session()
        if account is not None:
            self._session.auth = account.auth

    def run(self, json_value: dict[str, Any], core_name: str = DOCUMENTED_CORE) -> SolrAnswer:
        """Send the documented request; Solr's own errors (4xx) come back as answers, not raised.

        Raises ``SolrUnavailableError`` when Solr could not be reached or cannot serve the core.
        """
        path = self._path(core_name)

        def send(base: str) -> SolrAnswer:
            url = base + path
            try:
                response = self._session.post(
                    url, data=self._form(json_value), timeout=self._timeout
                )
            except requests.RequestException as err:
                raise self._unreachable(err, url) from err
            content_type = response.headers.get("content-type", "application/json")
            return self._answer(response.status_code, content_type, response.content, url)

        return self._nodes.call(send)


__all__ = [
    "DOCUMENTED_CORE",
    "SEARCH_HANDLER",
    "LogInsightsQuery",
    "SolrAnswer",
    "compact_json",
    "documented_request",
    "solr_reason",
]
