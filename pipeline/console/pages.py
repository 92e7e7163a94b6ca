"""What every console page shares: who is asking (sessions, CSRF), how a page is rendered, the
failure search as the page sends it to Solr, and the actions; ``routes`` holds the pages.

``Console`` is built once per app at the composition root (``create_app``) from ``ConsoleDeps``
and handed to each route by FastAPI (``Depends(console_of)``), so routes are small functions
and no page builds anything itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from pipeline.async_query import AsyncLogInsightsQuery
from pipeline.console.escaping import path_segment, web_link
from pipeline.console.sessions import SessionStore
from pipeline.console.throttle import LoginThrottle
from pipeline.errors import LogInsightsError, RefusedQueryError
from pipeline.intake import ShopContext
from pipeline.ledger import Ledger
from pipeline.models import DocType, zoned_time
from pipeline.reports import Outcome
from pipeline.scrub import scrub
from pipeline.search.guard import QueryLimits, guard_request
from pipeline.troubleshooting import refresh, reimport

HERE = Path(__file__).resolve().parent
COOKIE = "loginsights_session"
FACETS = ("errorCode", "shop", "platform", "docType", "resolved")
FIELDS = (
    "document-id,site,shopifyOrderName,shop,orderId,platform,docType,errorCode,errorMessage,"
    "firstAttemptedImport,firstAttemptedAt,timestamp,attempts,resolved"
)
PAGE = 50
REASON_WORDS = {
    "missing_imported_now": "was missing, imported now",
    "missing_failed_now": "was missing, its import failed (see its attempts)",
    "cancelled_at_platform_open_in_store": "cancelled at the platform, open in the store",
    "cancelled_in_store_open_at_platform": "cancelled in the store, open at the platform",
}
DAY = re.compile(r"\d{4}-\d\d-\d\d")


@dataclass
class ConsoleDeps:
    """What the console needs, wired at the composition root (``create_app``)."""

    query: AsyncLogInsightsQuery
    core: str
    read_tokens: list[bytes]
    admin_tokens: list[bytes]
    limits: QueryLimits = field(default_factory=QueryLimits)
    ledger: Ledger | None = None
    shop_context: Callable[[str], ShopContext] | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    sessions: SessionStore = field(default_factory=SessionStore)
    time_zone: str = "America/New_York"  # of firstAttemptedImport (Settings.time_zone)
    logins: LoginThrottle = field(default_factory=LoginThrottle)


class Console:
    """One app's console: its dependencies, templates and sessions."""

    def __init__(self, deps: ConsoleDeps) -> None:
        self.deps = deps
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters.update(
            web_link=web_link,
            path_segment=path_segment,
            shown_time=lambda value: zoned_time(value, deps.time_zone),
        )
        open_console = not deps.read_tokens and not deps.admin_tokens  # loopback, no tokens
        self.local_session = deps.sessions.open("admin") if open_console else ""

    # -- who is asking -------------------------------------------------------------------------

    def session_id(self, request: Request) -> str:
        return self.local_session or request.cookies.get(COOKIE, "")

    def role(self, request: Request) -> str | None:
        session = self.deps.sessions.get(self.session_id(request))
        return session.role if session else None

    def csrf(self, request: Request) -> str:
        digest = hmac.new(self.deps.secret, self.session_id(request).encode(), hashlib.sha256)
        return digest.hexdigest()

    def token_role(self, token: str) -> str | None:
        """``admin`` or ``read`` for a valid API token, else None (compared in constant time)."""
        given = token.strip().encode()
        if not given:
            return None
        if any(hmac.compare_digest(given, t) for t in self.deps.admin_tokens):
            return "admin"
        if any(hmac.compare_digest(given, t) for t in self.deps.read_tokens):
            return "read"
        return None

    def cross_site(self, request: Request) -> str | None:
        """Why a sign-in or sign-out POST is refused as not from this console's own page, or
        None. Browsers send ``Origin`` with every POST (``Referer`` where a policy hides it);
        one naming another site, or neither header at all, is refused: a page elsewhere cannot
        log a person in as the attacker (login CSRF) nor out."""
        own = request.headers.get("host", "").lower()
        for header in ("origin", "referer"):
            given = request.headers.get(header)
            if given:
                parts = urlsplit(given)
                if parts.scheme in ("http", "https") and parts.netloc.lower() == own:
                    return None
                return f"refused: the form was sent from another site ({header} {given[:80]!r})"
        return "refused: the form came without Origin or Referer; log in from this console's page"

    def may_act(self, request: Request, token: str) -> str | None:
        """Why an action is refused, or None when the caller may act."""
        if self.role(request) != "admin":
            return "this token may only read; actions need one of LOGINSIGHTS_API_ADMIN_TOKENS"
        if not hmac.compare_digest(token, self.csrf(request)):
            return "the form is stale; reload the page and try again"
        if self.deps.shop_context is None:
            return "actions are not set up here (serve with a shops file)"
        return None

    # -- rendering -----------------------------------------------------------------------------

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        who = self.role(request)
        notice = self.deps.sessions.take_notice(
            self.session_id(request), request.query_params.get("notice", "")
        )
        return self.templates.TemplateResponse(
            request,
            name,
            {
                "role": who,
                "csrf": self.csrf(request) if who else "",
                "notice": notice,
                "zone": self.deps.time_zone,
                **context,
            },  # fmt: skip
            status_code=status,
        )

    def login_page(self, request: Request, error: str = "", status: int = 200) -> HTMLResponse:
        return self.page(request, "login.html", status, error=error)

    def with_notice(self, request: Request, path: str, text: str, **query: Any) -> RedirectResponse:
        """Back to a page of this console (a relative URL), carrying a server-kept notice."""
        key = self.deps.sessions.notice(self.session_id(request), text)
        pairs = [(k, v) for k, values in query.items() for v in _listed(values)]
        pairs += [("notice", key)] if key else []
        return RedirectResponse(f"{path}?{urlencode(pairs)}" if pairs else path, status_code=303)

    # -- what pages ask for --------------------------------------------------------------------

    async def search(self, q: str, filters: list[str], show: str, start: int = 0) -> dict[str, Any]:
        """One page of failures with its facets and charts, through the API's guard."""
        wanted = [f for f in filters if f.split(":", 1)[0] in FACETS + ("day",)]
        solr_filters = [_filter(f) for f in wanted]
        solr_filters.append(f"-docType:{DocType.RECONCILIATION.value}")  # reports have a page
        if show != "all":
            solr_filters.append("-resolved:true")
        core = self.deps.core
        body = {
            "json": {
                "query": q or "*:*",
                "filter": solr_filters,
                "limit": PAGE,
                "offset": start,
                "sort": "timestamp desc",
                "fields": FIELDS,
                "facet": {
                    **{name: {"type": "terms", "field": name, "limit": 20} for name in FACETS},
                    "days": _range("NOW/DAY-59DAYS", "NOW/DAY+1DAY", "+1DAY"),
                    "hours": _range("NOW/HOUR-47HOURS", "NOW/HOUR+1HOUR", "+1HOUR"),
                },
            },
            "coreName": core,
        }
        guarded = guard_request(body, allowed_cores=(core,), limits=self.deps.limits)
        answer = await self.deps.query.run(guarded.json, guarded.core)
        result = answer.json()
        if not answer.ok:
            raise RefusedQueryError(
                str(result.get("error", {}).get("msg", f"Solr answered HTTP {answer.status}")),
                key="q",
            )
        return result

    def act(self, action: str, shop: str, order_id: str) -> dict[str, Any]:
        """Re-import or refresh one order (blocking: run it in a thread); scrubbed for a page."""
        assert self.deps.shop_context is not None
        try:
            context = self.deps.shop_context(shop)
            result = (reimport if action == "reimport" else refresh)(context, order_id)
        except LogInsightsError as err:
            return {"outcome": Outcome.FAILED, "detail": scrub(str(err))}
        return {k: (scrub(v) if isinstance(v, str) else v) for k, v in asdict(result).items()}


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _filter(spec: str) -> str:
    """A facet click as a Solr filter: field:"value", the value quoted and escaped."""
    name, _, value = spec.partition(":")
    if name == "day":
        if not DAY.fullmatch(value):
            raise RefusedQueryError(f"day {value!r} is not a day such as 2026-11-20", key="f")
        return f"timestamp:[{value}T00:00:00Z TO {value}T00:00:00Z+1DAY}}"
    return f'{name}:"{_escape(value)}"'


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _range(start: str, end: str, gap: str) -> dict[str, Any]:
    return {"type": "range", "field": "timestamp", "start": start, "end": end, "gap": gap,
            "facet": {"codes": {"type": "terms", "field": "errorCode", "limit": 10}}}  # fmt: skip


def chart_series(facet: dict[str, Any] | None) -> dict[str, Any]:
    """Solr's range buckets as chart data: labels and one count list per error code."""
    buckets = (facet or {}).get("buckets", [])
    labels = [b["val"] for b in buckets]
    codes = sorted({c["val"] for b in buckets for c in b.get("codes", {}).get("buckets", [])})
    series = {
        code: [
            next((c["count"] for c in b.get("codes", {}).get("buckets", []) if c["val"] == code), 0)
            for b in buckets
        ]
        for code in codes
    }
    return {"labels": labels, "series": series}


def view_links(
    q: str, show: str, filters: list[str], start: int = 0, found: int = 0
) -> dict[str, str]:
    """Query strings for the view's toggles and pages, keeping the rest of the view."""

    def link(new_filters: list[str], new_show: str = show, at: int = 0) -> str:
        pairs = [("q", q), ("show", new_show), *[("f", f) for f in new_filters]]
        return "?" + urlencode(pairs + ([("start", str(at))] if at else []))

    links = {"outstanding": link(filters, "outstanding"), "all": link(filters, "all")}
    links["clear"] = link([])
    if start > 0:
        links["previous"] = link(filters, show, max(0, start - PAGE))
        links["first"] = link(filters, show, 0)
    if start + PAGE < found:
        links["next"] = link(filters, show, start + PAGE)
        links["last"] = link(filters, show, (found - 1) // PAGE * PAGE)
    return links


__all__ = [
    "COOKIE",
    "FACETS",
    "PAGE",
    "REASON_WORDS",
    "Console",
    "ConsoleDeps",
    "chart_series",
    "view_links",
]
