"""What a notification says: right-away news and digests, written for a person, from facts.

Every message is plain text that reads the same in an e-mail and a chat message: a subject that
says what happened and how much, then groups (a shop and an error code) with counts, a few of
the latest messages, and a link to the console's page for that group. A flood is summarised:
at most ``MAX_GROUPS`` groups are written out, then how many more. Times are written in the
route's zone, as everywhere a person reads one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from pipeline.ledger.notifications import Notification
from pipeline.models import zoned_time
from pipeline.notify.routes import Route
from pipeline.reports import ReconciliationReport
from pipeline.scrub import scrub
from pipeline.shop_lag import duration_words

RIGHT_AWAY, DIGEST, DAILY, TEST = "right-away", "digest", "daily", "test"
MAX_GROUPS = 20
MAX_ORDERS = 20


def failures_link(console: str, shop: str, error_code: str | None = None) -> str:
    if not console:
        return ""
    query: list[tuple[str, str]] = [("q", f"shop:{shop}")]
    if error_code:
        query.append(("f", f"errorCode:{error_code}"))
    return f"{console}/?{urlencode(query)}"


def _note(route: Route, key: str, kind: str, subject: str, body: str, **facts: Any) -> Notification:
    """The one place a message leaves composition: scrubbed of every secret the process holds."""
    return Notification(
        key=f"{kind}:{route.name}:{key}", route=route.name, kind=kind,
        subject=scrub(subject), body=scrub(body), facts=facts,
    )  # fmt: skip


def broken_shops(
    route: Route, broken: Sequence[tuple[str, str, str]], console: str
) -> Notification:
    """(shop, problem, since) of shops that cannot be imported until a person acts; one message
    however many (a flood is one message)."""
    names = ", ".join(shop for shop, _, _ in broken)
    subject = (
        f"[loginsights] {broken[0][0]} is BROKEN: its orders are not imported"
        if len(broken) == 1
        else f"[loginsights] {len(broken)} shops are BROKEN: {names}"
    )
    lines = [
        "These shops cannot be imported until someone acts; their orders wait at the platform:"
    ]
    for shop, problem, since in broken[:MAX_GROUPS]:
        lines.append(f"- {shop}, since {zoned_time(since, route.time_zone)}: {problem}")
    if len(broken) > MAX_GROUPS:
        lines.append(f"- and {len(broken) - MAX_GROUPS} more")
    lines.append(
        "Fix what each line says, then `loginsights shops check`; the shop is imported again "
        "on the next pass, from its checkpoint (nothing is skipped)."
    )
    if console:
        lines.append(f"Shops and their lag: {console}/")
    key = ";".join(f"{shop}@{since}" for shop, _, since in broken)
    return _note(route, key, RIGHT_AWAY, subject, "\n".join(lines), shops=[s for s, _, _ in broken])


def reconciliation_found(
    route: Route, report: ReconciliationReport, console: str
) -> Notification | None:
    """The daily reconciliation found orders the store lacked: said at once."""
    missing = report.imported_now + report.failed_now
    if missing == 0:
        return None
    subject = (
        f"[loginsights] {report.shop}: the daily reconciliation found {missing} missing "
        f"order{'s' if missing != 1 else ''} ({report.failed_now} still failing)"
    )
    lines = [
        f"Orders created {zoned_time(report.window_start, route.time_zone)} to "
        f"{zoned_time(report.window_end, route.time_zone)}: {report.at_source} at "
        f"{report.platform}, {report.already_imported} were in the store, {missing} were not.",
        f"Imported now: {report.imported_now}. Failed now: {report.failed_now} (they are in "
        "logInsights; fix them at the platform and re-import).",
    ]
    orders = [o for o in report.orders if o.reason.value.startswith("missing")]
    for order in orders[:MAX_ORDERS]:
        lines.append(f"- {order.order_id}: {order.reason.value.replace('_', ' ')}")
    if len(orders) > MAX_ORDERS:
        lines.append(f"- and {len(orders) - MAX_ORDERS} more")
    if console:
        lines.append(f"The report: {console}/reconciliations")
        if report.failed_now:
            lines.append(f"The failures: {failures_link(console, report.shop)}")
    key = f"{report.shop}:{report.window_end.isoformat()}"
    return _note(route, key, RIGHT_AWAY, subject, "\n".join(lines), shop=report.shop)


def solr_refusing(route: Route, since: datetime, minutes: float, error: str) -> Notification:
    subject = (
        f"[loginsights] Solr has not taken failure documents for {duration_words(minutes * 60)}"
    )
    body = (
        f"Since {zoned_time(since, route.time_zone)} Solr has refused or not answered: {error}\n"
        "Nothing is lost: the documents wait in the ledger's outbox and reach Solr once it takes "
        "them (`loginsights outbox` counts them). Until then the console, the API and the admin "
        "UI do not show the newest failures. Check `loginsights solr status`."
    )
    return _note(route, since.isoformat(), RIGHT_AWAY, subject, body)


def _groups(title: str, rows: Sequence[dict[str, Any]], route: Route, console: str,
            describe: Any) -> list[str]:  # fmt: skip
    mine = [r for r in rows if route.hears(r["shop"], r["errorCode"])]
    if not mine:
        return []
    mine = sorted(mine, key=lambda r: (-r["count"], r["shop"], r["errorCode"]))
    lines = ["", f"{title} ({sum(r['count'] for r in mine)}):"]
    for row in mine[:MAX_GROUPS]:
        lines.append(f"- {row['shop']}, {row['errorCode']}: {describe(row)}")
        lines.extend(f"    {example[:200]}" for example in row.get("examples", [])[:3])
        link = failures_link(console, row["shop"], row["errorCode"])
        if link:
            lines.append(f"    {link}")
    if len(mine) > MAX_GROUPS:
        lines.append(f"- and {len(mine) - MAX_GROUPS} more groups")
    return lines


def digest(
    route: Route,
    news: dict[str, Any],
    late: Sequence[dict[str, Any]],
    *,
    since: datetime,
    until: datetime,
    console: str,
    kind: str = DIGEST,
    reconciliations: Sequence[dict[str, Any]] = (),
) -> Notification | None:
    """New failures by shop and error code (counts, the latest messages, a link each), what got
    resolved, what is still open and for how long, shops late or broken, and (daily) the day's
    reconciliations. None when there is nothing to tell."""
    new = [r for r in news["new"] if route.hears(r["shop"], r["errorCode"])]
    resolved = [r for r in news["resolved"] if route.hears(r["shop"], r["errorCode"])]
    still_open = [r for r in news["open"] if route.hears(r["shop"], r["errorCode"])]
    late_here = [s for s in late if route.hears_shop(s["shop"])]
    recon_here = [r for r in reconciliations if route.hears_shop(r["shop"])]
    if kind == DIGEST and not new and not resolved:
        return None
    if kind == DAILY and not (new or resolved or still_open or late_here or recon_here):
        return None
    new_count = sum(r["count"] for r in new)
    shops = len({r["shop"] for r in new})
    period = "daily digest" if kind == DAILY else f"{route.digest_minutes} min digest"
    subject = (
        f"[loginsights] {new_count} new failure{'s' if new_count != 1 else ''}"
        + (f" in {shops} shop{'s' if shops != 1 else ''}" if new_count else "")
        + f", {sum(r['count'] for r in resolved)} resolved, "
        f"{sum(r['count'] for r in still_open)} open ({period})"
    )
    now_words = f"{zoned_time(since, route.time_zone)} to {zoned_time(until, route.time_zone)}"
    lines = [f"From {now_words}."]
    lines += _groups("New failures", new, route, console,
                     lambda r: f"{r['count']} new")  # fmt: skip
    lines += _groups("Resolved", resolved, route, console, lambda r: f"{r['count']} resolved")
    lines += _groups(
        "Still open", still_open, route, console,
        lambda r: f"{r['count']} open, the oldest open for "
        f"{duration_words((until - datetime.fromisoformat(r['oldest'])).total_seconds())}",
    )  # fmt: skip
    if late_here:
        lines += ["", "Shops late or broken:"]
        for shop in late_here:
            lines.append(f"- {shop['shop']}: {shop['state']}")
    if recon_here:
        lines += ["", "The day's reconciliation:"]
        for report in recon_here:
            lines.append(f"- {report['shop']}: {report['summary']}")
    lines.append("")
    if console:
        lines.append(f"All outstanding failures: {console}/")
    else:
        lines.append("(Set console_url under [notify] in the shops file for links.)")
    return _note(
        route, until.isoformat() if kind == DIGEST else until.date().isoformat(), kind, subject,
        "\n".join(lines), until=until.isoformat(),
    )  # fmt: skip


def test_message(route: Route, now: datetime) -> Notification:
    return _note(
        route, now.isoformat(), TEST, "[loginsights] a test notification",
        f"This is route {route.name!r} of loginsights, sent by `loginsights notify test` at "
        f"{zoned_time(now, route.time_zone)}. Failures, broken shops and reconciliations that "
        "find missing orders will come this way.",
    )  # fmt: skip


__all__ = [
    "DAILY",
    "DIGEST",
    "RIGHT_AWAY",
    "TEST",
    "broken_shops",
    "digest",
    "failures_link",
    "reconciliation_found",
    "solr_refusing",
    "test_message",
]
