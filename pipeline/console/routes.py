"""The console's pages and actions (see the package docstring for what it is for).

Each route is a small function over the app's ``Console`` (``Depends(console_of)``): it reads
the request, asks the console or the ledger, and renders one template.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from pipeline.console.escaping import path_segment, spreadsheet_cell
from pipeline.console.ledger_views import reconciliation_reports, report_groups, shop_health
from pipeline.console.pages import (
    COOKIE,
    FACETS,
    REASON_WORDS,
    Console,
    chart_series,
    view_links,
)
from pipeline.console.sessions import SESSION_SECONDS
from pipeline.errors import RefusedQueryError, SolrUnavailableError
from pipeline.reports import Outcome
from pipeline.scrub import scrub
from pipeline.troubleshooting import describe_order

router = APIRouter(include_in_schema=False)


def console_of(request: Request) -> Console:
    """The app's console, built once by ``create_app``."""
    console: Console = request.app.state.console
    return console


Of = Depends(console_of)


# -- signing in --------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, console: Console = Of) -> HTMLResponse:
    return console.login_page(request)


@router.post("/login")
async def login(request: Request, token: str = Form(""), console: Console = Of) -> Response:
    refused = console.cross_site(request)
    if refused:
        return console.login_page(request, refused, 403)
    client = request.client.host if request.client else ""
    logins = console.deps.logins
    wait = logins.retry_after(client)
    if wait:
        page = console.login_page(
            request, f"Too many wrong tokens from here; try again in {wait:.0f} s.", 429
        )
        page.headers["Retry-After"] = str(max(1, round(wait)))
        return page
    await logins.wait_turn()
    role = console.token_role(token)
    if role is None:
        logins.failed(client)
        return console.login_page(request, "That token is not valid here.", 401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        console.deps.sessions.open(role),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request, console: Console = Of) -> Response:
    refused = console.cross_site(request)
    if refused:
        return console.login_page(request, refused, 403)
    console.deps.sessions.close(request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


# -- failures ----------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def failures(
    request: Request,
    q: str = "*:*",
    show: str = "outstanding",
    start: int = 0,
    console: Console = Of,
) -> HTMLResponse:
    if console.role(request) is None:
        return console.login_page(request, status=401)
    filters = request.query_params.getlist("f")
    empty = {"q": q, "show": show, "filters": filters, "docs": [], "found": 0, "facets": {},
             "chart": {}, "start": 0, "links": {}, "solr_down": False}  # fmt: skip
    try:
        result = await console.search(q, filters, show, max(0, start))
    except RefusedQueryError as err:
        return console.page(request, "failures.html", 400, error=scrub(str(err)), shops=[], **empty)
    except SolrUnavailableError as err:
        shops = await run_in_threadpool(shop_health, console.deps.ledger)
        return console.page(request, "failures.html", 503, error=scrub(str(err)), shops=shops,
                            **{**empty, "solr_down": True})  # fmt: skip
    facets, found = result.get("facets", {}), result["response"]["numFound"]
    return console.page(
        request,
        "failures.html",
        q=q,
        show=show,
        filters=filters,
        error="",
        docs=result["response"]["docs"],
        found=found,
        start=start,
        facets={name: facets.get(name, {}).get("buckets", []) for name in FACETS},
        chart={name: chart_series(facets.get(name)) for name in ("hours", "days")},
        shops=await run_in_threadpool(shop_health, console.deps.ledger),
        links=view_links(q, show, filters, start, found),
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
    console: Console = Of,
) -> Response:
    refused = console.may_act(request, csrf_token)
    if refused:
        return HTMLResponse(refused, status_code=403)
    result = await console.search(q, filters, show, max(0, start))
    docs = result["response"]["docs"]
    if confirm != "yes":  # a second step: this re-imports every order shown
        return console.page(request, "retry.html", q=q, show=show, start=start, filters=filters,
                            count=len(docs), docs=docs)  # fmt: skip
    outcomes = []
    for doc in docs:
        shop, order_id = doc.get("shop"), doc.get("orderId")
        if shop and order_id and not str(order_id).startswith("unidentified"):
            outcomes.append(await run_in_threadpool(console.act, "reimport", shop, order_id))
    passed = sum(1 for o in outcomes if o["outcome"] in (Outcome.IMPORTED, Outcome.ALREADY))
    message = f"retried {len(outcomes)}: {passed} imported, {len(outcomes) - passed} not"
    return console.with_notice(request, "/", message, q=q, show=show, f=filters)


# -- one order's story -------------------------------------------------------------------------


@router.get("/orders/{shop}/{order_id}", response_class=HTMLResponse)
async def order(request: Request, shop: str, order_id: str, console: Console = Of) -> HTMLResponse:
    if console.role(request) is None:
        return console.login_page(request, status=401)
    ledger = console.deps.ledger
    if ledger is None:
        return console.page(request, "order.html", 404, story=None, shop=shop, order_id=order_id)
    stories = await run_in_threadpool(describe_order, ledger, order_id, shop=shop)
    story = stories[0] if stories else None
    payload = json.dumps(story["payload"], indent=2, ensure_ascii=False) if story else ""
    return console.page(request, "order.html", 200 if story else 404, story=story, shop=shop,
                        order_id=order_id, payload=payload)  # fmt: skip


@router.post("/orders/{shop}/{order_id}/{action}")
async def act(
    request: Request,
    shop: str,
    order_id: str,
    action: str,
    csrf_token: str = Form("", alias="csrf"),
    console: Console = Of,
) -> Response:
    refused = console.may_act(request, csrf_token)
    if refused or action not in ("reimport", "refresh"):
        return HTMLResponse(refused or "no such action here", status_code=403)
    outcome = await run_in_threadpool(console.act, action, shop, order_id)
    message = f"{action}: {outcome['outcome']}. {outcome['detail']}"
    story = f"/orders/{path_segment(shop)}/{path_segment(order_id)}"
    return console.with_notice(request, story, message)


# -- reconciliation reports --------------------------------------------------------------------


@router.get("/reconciliations", response_class=HTMLResponse)
async def reconciliations(request: Request, console: Console = Of) -> HTMLResponse:
    if console.role(request) is None:
        return console.login_page(request, status=401)
    groups = await run_in_threadpool(report_groups, console.deps.ledger)
    return console.page(request, "reconciliations.html", groups=groups, reasons=REASON_WORDS)


@router.get("/reconciliations.csv")
async def reconciliations_csv(request: Request, console: Console = Of) -> Response:
    if console.role(request) is None:
        return Response("a token is needed", status_code=401)
    reports = await run_in_threadpool(reconciliation_reports, console.deps.ledger)
    disposition = {"Content-Disposition": "attachment; filename=reconciliations.csv"}
    return Response(_csv(reports), media_type="text/csv", headers=disposition)


@router.get("/notifications", response_class=HTMLResponse)
async def notifications(request: Request, console: Console = Of) -> HTMLResponse:
    """What loginsights told people: when, to which route, what; and what waits, with why."""
    if console.role(request) is None:
        return console.login_page(request, status=401)
    ledger = console.deps.ledger
    kept = await run_in_threadpool(ledger.recent_notifications, 200) if ledger else []
    counts = await run_in_threadpool(ledger.notification_counts) if ledger else (0, 0)
    return console.page(request, "notifications.html", kept=kept, waiting=counts[0],
                        sent=counts[1])  # fmt: skip


def _csv(reports: list[dict[str, Any]]) -> str:
    """One row per order a report names (or per report, if it names none), cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["shop", "windowStart", "windowEnd", "atSource", "alreadyImported",
                     "importedNow", "failedNow", "excluded", "orderId", "reason"])  # fmt: skip
    for report in reports:
        base = [report["shop"], report["window_start"], report["window_end"],
                report["at_source"], report["already_imported"], report["imported_now"],
                report["failed_now"], report.get("excluded", 0)]  # fmt: skip
        for item in report.get("orders") or [{"order_id": "", "reason": ""}]:
            row = [*base, item["order_id"], item["reason"]]
            writer.writerow([spreadsheet_cell(cell) for cell in row])
    return out.getvalue()


__all__ = ["console_of", "router"]
