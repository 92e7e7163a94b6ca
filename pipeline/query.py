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

import requests

from pipeline.errors import ConfigurationError, SolrUnavailableError
from pipeline.settings import Settings
from pipeline.solr.transport import error_for_exception

DOCUMENTED_CORE = "logInsights"


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
) -> dict[str, Any]:
    """The ``json`` value of a documented request; only the keys given are present."""
    params: dict[str, Any] = {"q": q}
    if fq:
        params["fq"] = list(fq) if len(fq) > 1 else fq[0]
    if rows is not None:
        params["rows"] = rows
    if start is not None:
        params["start"] = start
    if sort:
        params["sort"] = sort
    return {"params": params}


@dataclass(frozen=True)
class SolrAnswer:
    """Solr's response, untouched: the HTTP status and the body as Solr wrote it."""

    status: int
    text: str
    content_type: str

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.text)
        return body

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class LogInsightsQuery:
    """Runs documented requests against the search handler of one allowed core."""

    def __init__(
        self,
        solr_url: str,
        *,
        allowed_cores: Sequence[str] = (DOCUMENTED_CORE,),
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self._solr_url = solr_url.rstrip("/")
        self._allowed = tuple(allowed_cores)
        self._timeout = timeout
        self._session = session or requests.Session()

    @classmethod
    def from_settings(
        cls, settings: Settings, session: requests.Session | None = None
    ) -> LogInsightsQuery:
        return cls(
            settings.solr_url,
            allowed_cores=(settings.collection,),
            timeout=settings.solr_timeout_seconds,
            session=session,
        )

    def run(self, json_value: dict[str, Any], core_name: str = DOCUMENTED_CORE) -> SolrAnswer:
        """Send the documented request; Solr's own errors (4xx) come back as answers, not raised.

        Raises ``SolrUnavailableError`` only when Solr could not be reached at all.
        """
        if core_name not in self._allowed:
            raise ConfigurationError(
                f"coreName {core_name!r} is not one of the allowed cores "
                f"{list(self._allowed)}; use one of those"
            )
        url = f"{self._solr_url}/{core_name}/select"
        try:
            response = self._session.post(
                url, data={"json": compact_json(json_value)}, timeout=self._timeout
            )
        except requests.RequestException as err:
            raise error_for_exception(err, url, "run the query") from err
        if response.status_code >= 500 and "json" not in response.headers.get("content-type", ""):
            raise SolrUnavailableError(
                f"Solr at {url} failed (HTTP {response.status_code}); check "
                "`loginsights solr status` and try again",
                url=url,
                status=response.status_code,
            )
        return SolrAnswer(
            status=response.status_code,
            text=response.text,
            content_type=response.headers.get("content-type", "application/json"),
        )


__all__ = [
    "DOCUMENTED_CORE",
    "LogInsightsQuery",
    "SolrAnswer",
    "compact_json",
    "documented_request",
]
