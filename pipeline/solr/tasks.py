"""Solr's task management, for the searches the API may abandon.

A costly search (facets, function queries, grouping: what the guard marks ``cancellable``) is
sent with ``canCancel`` and a ``queryUUID`` of our own, and with ``shortCircuit=false``: Solr
tracks only queries that take its distributed path, which a one-shard collection otherwise
skips. When the API stops waiting (its timeout, a caller gone), it asks the collection's
``/tasks/cancel`` to stop the query, so Solr does not go on computing an answer nobody reads
(the reader account may use that path and nothing else of task management: it cannot list
others' tasks, so it cannot cancel a query whose UUID it was not given).

Solr echoes these parameters in ``responseHeader.params``; they are taken out again, so the
answer keeps seed 000's shape (only what the caller sent is echoed).
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass

TRACKED = {"canCancel": "true", "shortCircuit": "false"}
CANCEL_PATH = "/tasks/cancel"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackedSearch:
    """The task identity of one costly search."""

    query_uuid: str

    @classmethod
    def new(cls) -> TrackedSearch:
        return cls(f"loginsights-{uuid.uuid4().hex}")

    @property
    def params(self) -> dict[str, str]:
        """URL parameters that make Solr track the search under our UUID."""
        return {**TRACKED, "queryUUID": self.query_uuid}

    def unecho(self, body: bytes) -> bytes:
        """The answer without the echo of our parameters. Each is matched as a JSON member
        ``"name":"value"`` outside any string (inside the caller's echoed ``json`` the quotes
        are escaped), once, with the comma that joined it to its neighbours."""
        for name, value in self.params.items():
            body = _member(name, value).sub(_without_member, body, count=1)
        return body


def _member(name: str, value: str) -> re.Pattern[bytes]:
    member = rb'"%s"\s*:\s*"%s"' % (re.escape(name.encode()), re.escape(value.encode()))
    return re.compile(rb"(?P<before>,\s*)?" + member + rb"(?P<after>\s*,\s*)?")


def _without_member(match: re.Match[bytes]) -> bytes:
    # between two members keep one comma (and the layout after it); first or last, none
    before, after = match.group("before"), match.group("after")
    return after.lstrip() if before and after else b""


def cancel_outcome(status: int, body: bytes) -> str:
    """What Solr said to a cancellation: cancelled, finished already (not found), or failed."""
    if status != 200:
        return "failed"
    text = body.decode("utf-8", errors="replace").lower()
    if "success" in text:
        return "cancelled"
    if "not found" in text:
        return "finished"
    return "failed"


__all__ = ["CANCEL_PATH", "TRACKED", "TrackedSearch", "cancel_outcome"]
