"""How loginsights talks to Solr over HTTP: which failures are worth retrying, and how errors look.

The retry policy is one table (status or exception -> action), in the manner of Airbyte's error
mapping: 5xx and connection failures are retried with backoff and then raised as
``SolrUnavailableError`` (the caller keeps the work and replays it); 4xx are raised at once as
``SolrRequestError`` carrying Solr's own message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from enum import Enum
from typing import Any, Protocol, TypeVar

import requests
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from pipeline.errors import SolrAccessError, SolrError, SolrRequestError, SolrUnavailableError


class Action(Enum):
    RETRY = "retry"
    FAIL = "fail"


RETRY_POLICY: dict[int | type[Exception], Action] = {
    requests.ConnectionError: Action.RETRY,
    requests.Timeout: Action.RETRY,
    404: Action.RETRY,  # the collection's path is gone while Solr restarts or reloads it
    429: Action.RETRY,
    500: Action.RETRY,
    502: Action.RETRY,
    503: Action.RETRY,
    504: Action.RETRY,
}
# Solr's own login (security.json): what the person running loginsights should do about it.
ACCESS_ADVICE = {
    401: "it asks for credentials loginsights does not have or got wrong; set "
    "LOGINSIGHTS_SOLR_<INDEXER|READER|ADMIN>_PASSWORD, or use the credentials file the local Solr "
    "wrote (`loginsights solr credentials`); what waits is kept and sent once they work",
    403: "this Solr user may not do that; the indexer may only /update, the reader only /search "
    "(security.json from `loginsights solr secure`); use the account meant for the task",
}
# What Solr says, whatever the status, while a collection cannot take requests for now.
UNAVAILABLE_MESSAGES = (
    "no servers hosting shard",
    "is loading",
    "no active replicas",
    "no registered leader",
    "could not find a healthy node",
    "cannot talk to zookeeper",
    "could not find collection",
    "not a valid collection",
    "solrcoreinitializationexception",
)


def action_for_status(status: int, message: str = "") -> Action:
    """Retry or fail, from the status and, for a Solr that is restarting, its message."""
    lowered = message.lower()
    if any(marker in lowered for marker in UNAVAILABLE_MESSAGES):
        return Action.RETRY
    return RETRY_POLICY.get(status, Action.RETRY if status >= 500 else Action.FAIL)


def solr_message(body: Any) -> str:
    """Solr's own explanation out of an error body (JSON or HTML), kept short."""
    if isinstance(body, dict):
        error = body.get("error") or {}
        if isinstance(error, dict) and error.get("msg"):
            return str(error["msg"])
    text = body if isinstance(body, str) else json.dumps(body)
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(text.split())[:300]


def error_for_response(response: requests.Response, what: str) -> SolrError:
    """Map a non-2xx answer of Solr to the error tree."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    message = solr_message(body)
    status = response.status_code
    if status in ACCESS_ADVICE:
        return SolrAccessError(
            f"Solr refused to let loginsights {what} (HTTP {status}): {ACCESS_ADVICE[status]}",
            url=response.url,
            status=status,
            body=body,
        )
    if action_for_status(status, message) is Action.RETRY:
        return SolrUnavailableError(
            f"Solr failed to {what} (HTTP {status}: {message}); it is retried and, if it "
            "persists, check that Solr is running (`loginsights solr status`)",
            url=response.url,
            status=status,
            body=body,
        )
    return SolrRequestError(
        f"Solr refused to {what} (HTTP {status}: {message}); correct the request and send it again",
        url=response.url,
        status=status,
        body=body,
    )


def error_for_exception(err: requests.RequestException, url: str, what: str) -> SolrError:
    return SolrUnavailableError(
        f"Solr at {url} could not be reached to {what} ({type(err).__name__}); start it with "
        "`loginsights solr start` or check --solr-url",
        url=url,
    )


T = TypeVar("T")


class LiveNodeSource(Protocol):
    """Where the current node URLs come from (``pipeline.solr.zookeeper.LiveNodes``)."""

    def urls(self) -> list[str]: ...


class SolrNodes:
    """The nodes one Solr answers on: several URLs of a SolrCloud cluster (comma-separated in
    ``--solr-url``), or one; with ``live`` (``--zk-host``), the live nodes ZooKeeper names, and
    the URL list only while ZooKeeper names none. A request goes to the node that answered last
    and moves on to the next when that one cannot be reached, so a node's loss costs one failed
    connection."""

    def __init__(self, solr_url: str, live: LiveNodeSource | None = None) -> None:
        self.given = [url.strip().rstrip("/") for url in solr_url.split(",") if url.strip()]
        self.live = live
        if not self.given and live is None:
            raise SolrUnavailableError("no Solr URL given; set --solr-url or LOGINSIGHTS_SOLR_URL")
        self._good = ""

    @property
    def urls(self) -> list[str]:
        if self.live is not None:
            try:
                return self.live.urls()
            except SolrUnavailableError:
                if not self.given:
                    raise
        return self.given

    @property
    def first(self) -> str:
        return self.in_turn()[0]

    def in_turn(self) -> list[str]:
        """The nodes, starting with the one that answered last (for callers that await)."""
        urls = self.urls
        start = urls.index(self._good) if self._good in urls else 0
        return urls[start:] + urls[:start]

    def answered(self, url: str) -> None:
        self._good = url

    def call(self, request: Callable[[str], T]) -> T:
        """``request(base_url)`` on each node in turn until one is reachable."""
        last: SolrUnavailableError | None = None
        for url in self.in_turn():
            try:
                result = request(url)
            except SolrAccessError:
                raise  # every node has the same security.json
            except SolrUnavailableError as err:
                last = err
                continue
            self._good = url
            return result
        assert last is not None
        raise last


def _worth_retrying(err: BaseException) -> bool:
    return isinstance(err, SolrUnavailableError) and not isinstance(err, SolrAccessError)


def with_retries(call: Callable[[], T], *, attempts: int, max_wait_seconds: float = 8.0) -> T:
    """Run ``call``, retrying only ``SolrUnavailableError`` (refused credentials stay refused
    within a second: ``SolrAccessError`` is raised at once); the last one is re-raised."""
    retrying = Retrying(
        retry=retry_if_exception(_worth_retrying),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.25, max=max_wait_seconds),
        reraise=True,
    )
    return retrying(call)


def get_json(
    session: requests.Session,
    url: str,
    *,
    params: dict[str, Any] | list[tuple[str, Any]] | None = None,
    timeout: float,
    what: str,
    form: bool = False,
) -> dict[str, Any]:
    """One request to Solr returning its JSON, with errors mapped to the tree (no retry here).

    ``form=True`` sends the parameters as a POST form, for parameter lists too long for a URL.
    """
    try:
        if form:
            response = session.post(url, data=params, timeout=timeout)
        else:
            response = session.get(url, params=params, timeout=timeout)
    except requests.RequestException as err:
        raise error_for_exception(err, url, what) from err
    if not response.ok:
        raise error_for_response(response, what)
    result: dict[str, Any] = response.json()
    return result


__all__ = [
    "ACCESS_ADVICE",
    "RETRY_POLICY",
    "LiveNodeSource",
    "SolrNodes",
    "UNAVAILABLE_MESSAGES",
    "Action",
    "action_for_status",
    "error_for_exception",
    "error_for_response",
    "get_json",
    "solr_message",
    "with_retries",
]
