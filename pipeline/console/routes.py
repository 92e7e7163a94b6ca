"""The console's pages and actions (see the package docstring for what it is for)."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from pipeline.console.escaping import path_segment, spreadsheet_cell, utc_time, web_link
from pipeline.console.ledger_views import reconciliation_reports, report_groups, shop_health
from pipeline.console.sessions import SESSION_SECONDS, SessionStore
from pipeline.errors import LogInsightsError, RefusedQueryError, SolrUnavailableError
from pipeline.ledger import Ledger
from pipeline.models import DocType
from pipeline.query import AsyncLogInsightsQuery
from pipeline.reports import Outcome
from pipeline.scrub import scrub
from pipeline.search.guard import QueryLimits, guard_request
from pipeline.troubleshooting import describe_order, refresh, reimport
from pipeline.worker import ImportWorker

HERE = Path(__file__).resolve().parent
COOKIE = "loginsights_session"
FACETS = ("errorCode", "shop", "platform", "docType", "resolved")
FIELDS = (
    "document-id,site,shopifyOrderName,shop,orderId,platform,docType,errorCode,errorMessage,"
    "firstAttemptedImport,timestamp,attempts,resolved"
)
PAGE = 50
REASON_WORDS = {
    "missing_imported_now": "was missing, imported now",
    "missing_failed_now": "was missing, failed again",
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
    worker_for: Callable[[str], ImportWorker] | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    sessions: SessionStore = field(default_factory=SessionStore)
    time_zone: str = "America/New_York"  # of firstAttemptedImport (Settings.time_zone)


def console_router(deps: ConsoleDeps) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters.update(web_link=web_link, path_segment=path_segment, utc_time=utc_time)
    open_console = not deps.read_tokens and not deps.admin_tokens  # loopback only, no tokens
    local_session = deps.sessions.open("admin") if open_console else ""

    def session_id(request: Request) -> str:
        return local_session or request.cookies.get(COOKIE, "")

    def role(request: Request) -> str | None:
        session = deps.sessions.get(session_id(request))
        return session.role if session else None

    def csrf(request: Request) -> str:
        return hmac.new(deps.secret, session_id(request).encode(), hashlib.sha256).hexdigest()

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        who = role(request)
        notice = deps.sessions.take_notice(
            session_id(request), request.query_params.get("notice", "")
        )
        return templates.TemplateResponse(
            request,
            name,
            {
                "role": who,
                "csrf": csrf(request) if who else "",
                "notice": notice,
                "zone": deps.time_zone,
                **context,
            },  # fmt: skip
            status_code=status,
        )

    def with_notice(request: Request, path: str, text: str, **query: Any) -> RedirectResponse:
        """Back to a page of this console (a relative URL), carrying a server-kept notice."""
        key = deps.sessions.notice(session_id(request), text)
        pairs = [(k, v) for k, values in query.items() for v in _listed(values)]
        pairs += [("notice", key)] if key else []
        return RedirectResponse(f"{path}?{urlencode(pairs)}" if pairs else path, status_code=303)

    def login_page(request: Request, error: str = "", status: int = 200) -> HTMLResponse:
        return page(request, "login.html", status, error=error)

    def may_act(request: Request, token: str) -> str | None:
        """Why an action is refused, or None when the caller may act."""
        if role(request) != "admin":
            return "this token may only read; actions need one of LOGINSIGHTS_API_ADMIN_TOKENS"
        if not hmac.compare_digest(token, csrf(request)):
            return "the form is stale; reload the page and try again"
        return None

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> HTMLResponse:
        return login_page(request)

    @router.post("/login")
    async def login(request: Request, token: str = Form("")) -> Response:
        given = token.strip().encode()
        admin = any(hmac.compare_digest(given, t) for t in deps.admin_tokens)
        reader = any(hmac.compare_digest(given, t) for t in deps.read_tokens)
        if not given or not (admin or reader):
            return login_page(request, "That token is not valid here.", 401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            deps.sessions.open("admin" if admin else "read"),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        deps.sessions.close(request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    # -- failures ------------------------------------------------------------------------------

    async def search(q: str, filters: list[str], show: str, start: int = 0) -> dict[str, Any]:
        wanted = [f for f in filters if f.split(":", 1)[0] in FACETS + ("day",)]
        solr_filters = [_filter(f) for f in wanted]
        solr_filters.append(f"-docType:{DocType.RECONCILIATION.value}")  # reports have a page
        if show != "all":
            solr_filters.append("-resolved:true")
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
            "coreName": deps.core,
        }
        guarded = guard_request(body, allowed_cores=(deps.core,), limits=deps.limits)
        answer = await deps.query.run(guarded.json, guarded.core)
        result = answer.json()
        if not answer.ok:
            raise RefusedQueryError(
                str(result.get("error", {}).get("msg", f"Solr answered HTTP {answer.status}")),
                key="q",
            )
        return result

    @router.get("/", response_class=HTMLResponse)
    async def failures(
        request: Request, q: str = "*:*", show: str = "outstanding", start: int = 0
    ) -> HTMLResponse:
        if role(request) is None:
            return login_page(request, status=401)
        filters = request.query_params.getlist("f")
        empty = {"q": q, "show": show, "filters": filters, "docs": [], "found": 0, "facets": {},
                 "chart": {}, "start": 0, "links": {}, "solr_down": False}  # fmt: skip
        try:
            result = await search(q, filters, show, max(0, start))
        except RefusedQueryError as err:
            return page(request, "failures.html", 400, error=scrub(str(err)), shops=[], **empty)
        except SolrUnavailableError as err:
            shops = await run_in_threadpool(shop_health, deps.ledger)
            return page(request, "failures.html", 503, error=scrub(str(err)), shops=shops,
                        **{**empty, "solr_down": True})  # fmt: skip
        facets = result.get("facets", {})
        return page(
            request,
            "failures.html",
            q=q,
            show=show,
            filters=filters,
            error="",
            docs=result["response"]["docs"],
            found=result["response"]["numFound"],
            start=start,
            facets={name: facets.get(name, {}).get("buckets", []) for name in FACETS},
            chart={"hours": _series(facets.get("hours")), "days": _series(facets.get("days"))},
            shops=shop_health(deps.ledger),
            links=_links(q, show, filters, start, result["response"]["numFound"]),
            solr_down=False,
        )

    @router.post("/retry")
    async def retry_shown(
        request: Request,
        csrf_token: str = Form("", alias="csrf"),
        q: str = Form("*:*"),
        show: str = Form("outstanding"),
        start: int = Form(0),
        confirm: str = Form(""),
        filters: list[str] = Form([], alias="f"),  # noqa: B008
    ) -> Response:
        refused = may_act(request, csrf_token)
        if refused or deps.worker_for is None:
            return HTMLResponse(refused or "actions are not set up here", status_code=403)
        result = await search(q, filters, show, max(0, start))
        shown = [(d.get("shop"), d.get("orderId")) for d in result["response"]["docs"]]
        if confirm != "yes":  # a second step: this re-imports every order shown
            return page(request, "retry.html", q=q, show=show, start=start, filters=filters,
                        count=len(shown), docs=result["response"]["docs"])  # fmt: skip
        outcomes = []
        for shop, order_id in shown:
            if shop and order_id and not str(order_id).startswith("unidentified"):
                outcomes.append(await run_in_threadpool(_act, deps, "reimport", shop, order_id))
        passed = sum(1 for o in outcomes if o["outcome"] in (Outcome.IMPORTED, Outcome.ALREADY))
        message = f"retried {len(outcomes)}: {passed} imported, {len(outcomes) - passed} not"
        return with_notice(request, "/", message, q=q, show=show, f=filters)

    # -- one order's story -------------------------------------------------------------------

    @router.get("/orders/{shop}/{order_id}", response_class=HTMLResponse)
    async def order(request: Request, shop: str, order_id: str) -> HTMLResponse:
        if role(request) is None:
            return login_page(request, status=401)
        if deps.ledger is None:
            return page(request, "order.html", 404, story=None, shop=shop, order_id=order_id)
        stories = await run_in_threadpool(describe_order, deps.ledger, order_id, shop=shop)
        story = stories[0] if stories else None
        payload = json.dumps(story["payload"], indent=2, ensure_ascii=False) if story else ""
        return page(request, "order.html", 200 if story else 404, story=story, shop=shop,
                    order_id=order_id, payload=payload)  # fmt: skip

    @router.post("/orders/{shop}/{order_id}/{action}")
    async def act(
        request: Request, shop: str, order_id: str, action: str,
        csrf_token: str = Form("", alias="csrf"),
    ) -> Response:  # fmt: skip
        refused = may_act(request, csrf_token)
        if refused or deps.worker_for is None or action not in ("reimport", "refresh"):
            return HTMLResponse(refused or "no such action here", status_code=403)
        outcome = await run_in_threadpool(_act, deps, action, shop, order_id)
        message = f"{action}: {outcome['outcome']}. {outcome['detail']}"
        story = f"/orders/{path_segment(shop)}/{path_segment(order_id)}"
        return with_notice(request, story, message)

    # -- reconciliation reports ------------------------------------------------------------

    @router.get("/reconciliations", response_class=HTMLResponse)
    async def reconciliations(request: Request) -> HTMLResponse:
        if role(request) is None:
            return login_page(request, status=401)
        groups = await run_in_threadpool(report_groups, deps.ledger)
        return page(request, "reconciliations.html", groups=groups, reasons=REASON_WORDS)

    @router.get("/reconciliations.csv")
    async def reconciliations_csv(request: Request) -> Response:
        if role(request) is None:
            return Response("a token is needed", status_code=401)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["shop", "windowStart", "windowEnd", "atSource", "alreadyImported",
                         "importedNow", "failedNow", "excluded", "orderId", "reason"])  # fmt: skip
        for report in reconciliation_reports(deps.ledger):
            base = [report["shop"], report["window_start"], report["window_end"],
                    report["at_source"], report["already_imported"], report["imported_now"],
                    report["failed_now"], report.get("excluded", 0)]  # fmt: skip
            orders = report.get("orders") or [{"order_id": "", "reason": ""}]
            for item in orders:
                row = [*base, item["order_id"], item["reason"]]
                writer.writerow([spreadsheet_cell(cell) for cell in row])
        disposition = {"Content-Disposition": "attachment; filename=reconciliations.csv"}
        return Response(out.getvalue(), media_type="text/csv", headers=disposition)

    return router


def _act(deps: ConsoleDeps, action: str, shop: str, order_id: str) -> dict[str, Any]:
    assert deps.worker_for is not None
    try:
        worker = deps.worker_for(shop)
        result = (reimport if action == "reimport" else refresh)(worker, order_id)
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


def _series(facet: dict[str, Any] | None) -> dict[str, Any]:
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


def _links(q: str, show: str, filters: list[str], start: int = 0, found: int = 0) -> dict[str, str]:
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


__all__ = ["ConsoleDeps", "console_router"]
