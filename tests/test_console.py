"""The failure console in a real browser: Debian's chromium driven by Playwright.

A Shopify simulator holds a day of orders, some of them flawed; a worker imported it into a
ledger and posted the failures to a real Solr; the console (served by uvicorn) shows them.
Each page is screenshotted under the test's tmp dir, so a person can look at them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from conftest import (
    SOLR_INDEXER,
    SolrUnderTest,
    past_day,
    select,
    served,
    simulator,
    worker_for_sim,
)

from pipeline.api import create_app
from pipeline.documents import failure_renderer
from pipeline.flusher import OutboxFlusher
from pipeline.ledger import Ledger
from pipeline.models import Platform
from pipeline.reconcile import reconcile
from pipeline.settings import Settings
from pipeline.simulators import Faults, OrderCatalog, SimulatorServer
from pipeline.worker import ImportWorker

READ, ADMIN = "console-read-token", "console-admin-token"
CHROMIUM = "/usr/bin/chromium"


@dataclass
class Console:
    url: str
    shop: str
    sim: SimulatorServer
    catalog: OrderCatalog
    worker: ImportWorker
    screens: Path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), (
        "Debian's chromium is missing: apt-get install chromium (scripts/test.sh does)"
    )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking",
                  "--disable-component-update"],
        )  # fmt: skip
        yield launched
        launched.close()


@pytest.fixture
def console(solr: SolrUnderTest, shop: str, tmp_path: Path) -> Iterator[Console]:
    """On a SQLite ledger: the console reads the ledger through the same code on both engines."""
    from pipeline.indexing import LogInsightsIndex

    ledger = Ledger(tmp_path / "ledger.sqlite3")
    flusher = OutboxFlusher(ledger, LogInsightsIndex(solr.url, account=SOLR_INDEXER))
    start, end = past_day(hours=2)
    catalog = OrderCatalog.generate(
        60, seed=41, start=start, end=end,
        faults=Faults(missing_address_share=0.15, bad_email_share=0.08),
    )  # fmt: skip
    with simulator(Platform.SHOPIFY, catalog) as sim:
        worker = worker_for_sim(sim, shop, ledger, start=start, flusher=flusher)
        worker.import_range(start, end)
        reconcile(worker.context, hours=2, end=end)
        settings = Settings(solr_url=solr.url, api_tokens=[READ], api_admin_tokens=[ADMIN])
        app = create_app(settings, ledger=ledger, shop_context=lambda name: worker.context)
        with served(app) as url:
            screens = tmp_path / "screens"
            screens.mkdir()
            yield Console(url, shop, sim, catalog, worker, screens)


def logged_in(browser: object, console: Console, token: str):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.goto(f"{console.url}/login")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Log in").click()
    return page


def outstanding(solr: SolrUnderTest, shop: str, *filters: str) -> int:
    fq = ["-resolved:true", "-docType:ORDER_RECONCILIATION", *filters]
    body = select(solr.url, q=f"shop:{shop}", fq=fq, rows=0)
    return int(body["response"]["numFound"])


def test_a_wrong_token_sees_the_login_form(browser: object, console: Console) -> None:
    page = logged_in(browser, console, "not-a-token")
    assert page.get_by_role("alert").inner_text() == "That token is not valid here."
    assert page.get_by_label("Access token").is_visible()
    page.screenshot(path=str(console.screens / "login-refused.png"))
    page.goto(console.url + "/")
    assert page.get_by_label("Access token").is_visible(), "no cookie, no failures"


def test_failures_with_the_right_count_a_facet_and_a_chart(
    browser: object, console: Console, solr: SolrUnderTest
) -> None:
    page = logged_in(browser, console, ADMIN)
    page.get_by_label("Search (Solr query syntax)").fill(f"shop:{console.shop}")
    page.get_by_role("button", name="Search").click()
    expected = outstanding(solr, console.shop)
    assert expected > 0
    assert page.locator("#found").inner_text() == str(expected)
    assert page.locator("table.failures tbody tr").count() == min(expected, 50)
    assert page.locator("canvas#hours").is_visible() and page.locator("canvas#days").is_visible()
    shops = page.locator("section.shops").inner_text()
    assert console.shop in shops and "waited" in shops, "how long the shop's orders waited"
    page.screenshot(path=str(console.screens / "failures.png"), full_page=True)

    page.locator('a.facet-link[data-facet="errorCode"][data-value="missing_address"]').click()
    filtered = outstanding(solr, console.shop, "errorCode:missing_address")
    assert page.locator("#found").inner_text() == str(filtered) and 0 < filtered <= expected
    codes = page.locator("table.failures tbody tr td:nth-child(4)").all_inner_texts()
    assert set(codes) == {"missing_address"}
    page.screenshot(path=str(console.screens / "failures-missing-address.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.reload()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, "readable on a phone: the page does not scroll sideways"
    page.screenshot(path=str(console.screens / "failures-phone.png"), full_page=True)


def test_reimport_after_the_merchant_fixed_the_order_resolves_it(
    browser: object, console: Console, solr: SolrUnderTest
) -> None:
    page = logged_in(browser, console, ADMIN)
    page.goto(f"{console.url}/?q=shop:{console.shop}&f=errorCode:missing_address")
    page.locator("a.story").first.click()
    page.wait_for_url("**/orders/**")
    assert "Outstanding: missing_address" in page.locator("#status").inner_text()
    page.screenshot(path=str(console.screens / "order.png"), full_page=True)
    order_id = page.url.rstrip("/").rsplit("/", 1)[1]
    number = int(order_id) - 5_500_000_000_000
    good = next(o for o in console.catalog.created_between(None, None, high_inclusive=True,
                                                          now=datetime.now().astimezone())
                if o.address)  # fmt: skip
    # The merchant fixes everything wrong with it: some orders also have a malformed email.
    console.catalog.update(number, address=good.address, email=f"customer{number}@example.com")
    page.get_by_role("button", name="Re-import").click()
    assert "reimport: imported" in page.get_by_role("status").inner_text()
    assert page.locator("#status").inner_text().startswith("Resolved")
    page.screenshot(path=str(console.screens / "order-resolved.png"), full_page=True)
    docs = select(solr.url, q=f"orderId:{order_id}", fq=f"shop:{console.shop}", fl="resolved")
    assert docs["response"]["docs"][0]["resolved"] is True


def test_a_read_only_token_sees_no_buttons_and_cannot_act(
    browser: object, console: Console
) -> None:
    page = logged_in(browser, console, READ)
    page.goto(f"{console.url}/?q=shop:{console.shop}")
    assert page.get_by_role("button", name="Retry all shown").count() == 0
    page.locator("a.story").first.click()
    page.wait_for_url("**/orders/**")
    assert page.locator("#status").is_visible()
    assert page.get_by_role("button", name="Re-import").count() == 0
    assert page.get_by_role("button", name="Refresh").count() == 0
    page.screenshot(path=str(console.screens / "order-read-only.png"), full_page=True)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    answer = requests.post(page.url + "/reimport", data={"csrf": "x"}, cookies=cookies,
                           timeout=30, allow_redirects=False)  # fmt: skip
    assert answer.status_code == 403


def test_reconciliation_reports_and_their_csv(browser: object, console: Console) -> None:
    page = logged_in(browser, console, ADMIN)
    page.get_by_role("link", name="Reconciliations").click()
    assert console.shop in page.locator("table").inner_text()
    page.screenshot(path=str(console.screens / "reconciliations.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    text = Path(download.value.path()).read_text()
    assert text.startswith("shop,windowStart,windowEnd,atSource") and console.shop in text


def test_the_console_loads_nothing_from_elsewhere(browser: object, console: Console) -> None:
    page = logged_in(browser, console, READ)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(console.url) else outside.append(r.url))
    page.goto(f"{console.url}/?q=shop:{console.shop}")
    page.wait_for_load_state("networkidle")
    assert outside == [], "no CDN: the page works on a closed network"
    assert page.evaluate("typeof window.Chart") == "function", "the chart library is served here"


# -- issue 21, B: safe to click --------------------------------------------------------------


def login_cookies(console: Console, token: str) -> dict[str, str]:
    answer = requests.post(
        f"{console.url}/login",
        data={"token": token},
        headers={"Origin": console.url},  # as a browser sends it with the form
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/", "a relative redirect"
    return dict(answer.cookies)


def test_the_cookie_is_a_session_id_that_logout_revokes(console: Console) -> None:
    cookies = login_cookies(console, ADMIN)
    assert ADMIN not in "".join(cookies.values()), "the token never travels in a cookie"
    assert requests.get(console.url, cookies=cookies, timeout=30).status_code == 200
    requests.post(
        f"{console.url}/logout",
        cookies=cookies,
        headers={"Origin": console.url},
        allow_redirects=False,
        timeout=30,
    )
    again = requests.get(console.url, cookies=cookies, timeout=30)
    assert again.status_code == 401, "a copied cookie stops working at logout"


def test_a_crafted_link_cannot_make_the_console_say_anything(console: Console) -> None:
    cookies = login_cookies(console, READ)
    lure = "Log in again at http://evil.example/login"
    for query in ({"outcome": lure}, {"notice": lure}, {"notice": "guessed-id"}):
        page = requests.get(console.url, params=query, cookies=cookies, timeout=30)
        assert "evil.example" not in page.text and 'class="notice"' not in page.text


def test_a_notice_the_server_set_is_shown_once(browser: object, console: Console) -> None:
    page = logged_in(browser, console, ADMIN)
    page.goto(f"{console.url}/?q=shop:{console.shop}")
    page.locator("a.story").first.click()
    page.wait_for_url("**/orders/**")
    page.get_by_role("button", name="Re-import").click()
    page.wait_for_url("**notice=**")
    assert page.locator(".notice").inner_text().startswith("reimport:")
    page.reload()
    assert page.locator(".notice").count() == 0


def test_only_web_links_are_links_and_story_links_encode_the_id(
    solr: SolrUnderTest, console: Console
) -> None:
    from zoneinfo import ZoneInfo

    from pipeline.indexing import LogInsightsIndex
    from pipeline.models import FailedAttempt

    ledger = console.worker.context.ledger
    attempt = FailedAttempt(
        platform=Platform.SHOPIFY, shop=console.shop, order_id="a/../b", order_name="#evil",
        order_created_at=datetime(2026, 11, 20, tzinfo=ZoneInfo("UTC")),
        error_message="planted", site="javascript:alert(document.cookie)",
    )  # fmt: skip
    ledger.record_failures([attempt], render=failure_renderer("+60DAYS", ZoneInfo("UTC")))
    OutboxFlusher(ledger, LogInsightsIndex(solr.url, account=SOLR_INDEXER)).flush()
    cookies = login_cookies(console, READ)
    page = requests.get(console.url, params={"q": "errorMessage:planted"}, cookies=cookies,
                        timeout=30).text  # fmt: skip
    assert "#evil" in page
    assert "javascript:" not in page
    assert "/a%2F%2E%2E%2Fb" in page or "/a%2F..%2Fb" in page


# -- issue 18 C: the morning check ------------------------------------------------------------


def test_paging_reaches_the_last_failure(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from pipeline.console import pages

    monkeypatch.setattr(pages, "PAGE", 4)
    cookies = login_cookies(console, READ)
    url, seen, found = f"{console.url}/?q=shop:{console.shop}", [], None
    while url:
        text = requests.get(url, cookies=cookies, timeout=30).text
        found = int(re.search(r'id="found">(\d+)<', text).group(1))  # type: ignore[union-attr]
        seen += re.findall(r'class="story" href="(/orders/[^"]+)"', text)
        following = re.search(r'href="(\?[^"]+)" rel="next"', text)
        url = f"{console.url}/{following.group(1).replace('&amp;', '&')}" if following else ""
    assert found and found > 4, "more than one page"
    assert len(seen) == len(set(seen)) == found


def test_retry_all_shown_asks_first(console: Console) -> None:
    cookies = login_cookies(console, ADMIN)
    form = requests.get(f"{console.url}/?q=shop:{console.shop}", cookies=cookies, timeout=30).text
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    data = {"csrf": csrf, "q": f"shop:{console.shop}", "show": "outstanding"}
    untouched = console.sim.calls
    asked = requests.post(f"{console.url}/retry", data=data, cookies=cookies, timeout=30,
                          allow_redirects=False)  # fmt: skip
    before = console.sim.calls
    assert asked.status_code == 200 and 'id="retry-confirm"' in asked.text
    assert before == untouched, "asking fetches nothing"
    done = requests.post(f"{console.url}/retry", data={**data, "confirm": "yes"},
                         cookies=cookies, timeout=60, allow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and "notice=" in done.headers["Location"]
    assert console.sim.calls > before, "now the orders were fetched again"
    again = requests.post(f"{console.url}/retry", data=data, cookies=cookies, timeout=30)
    assert 'id="retry-confirm"' in again.text, "every Retry all asks again"


def test_with_solr_down_the_console_says_so_in_its_own_layout(tmp_path: Path) -> None:
    settings = Settings(solr_url="http://127.0.0.1:9/solr", api_tokens=[READ],
                        solr_retry_attempts=1)  # fmt: skip
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    with served(create_app(settings, ledger=ledger)) as url:
        session = requests.Session()
        session.post(f"{url}/login", data={"token": READ}, headers={"Origin": url}, timeout=30)
        answer = session.get(url, timeout=30)
    assert answer.status_code == 503
    assert "Solr is unreachable" in answer.text and 'href="/reconciliations"' in answer.text
    assert not answer.text.lstrip().startswith("{"), "a page, never raw JSON"


def test_reconciliations_say_their_reasons_in_words_and_group_reruns(console: Console) -> None:
    cookies = login_cookies(console, READ)
    text = requests.get(f"{console.url}/reconciliations", cookies=cookies, timeout=30).text
    assert "balanced" in text or "to look at" in text
    assert "missing_failed_now" not in text and "missing_imported_now" not in text
    assert "runs, latest shown" not in text
    last = console.worker.context.ledger.reconciliations(console.shop)[-1]
    reconcile(console.worker.context, hours=2, end=datetime.fromisoformat(last["window_end"]))
    again = requests.get(f"{console.url}/reconciliations", cookies=cookies, timeout=30).text
    assert "(2 runs, latest shown)" in again, "a day reconciled twice is one row"
    assert again.count(f"<td>{console.shop}</td>") == text.count(f"<td>{console.shop}</td>")


def test_the_morning_check_fits_a_laptop_and_a_phone(browser: object, console: Console) -> None:
    page = logged_in(browser, console, READ)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{console.url}/?q=shop:{console.shop}")
    story = page.locator("a.story").first.bounding_box()
    assert story and story["x"] + story["width"] <= 1366, "the Story link without scrolling"
    page.screenshot(path=str(console.screens / "failures-1366.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in (f"/?q=shop:{console.shop}", "/reconciliations"):
        page.goto(console.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways on a phone"
    page.goto(f"{console.url}/?q=shop:{console.shop}")
    for chart in ("canvas#hours", "canvas#days"):
        box = page.locator(chart).bounding_box()
        assert box and box["height"] >= 120, f"{chart} is {box} on a phone"
    page.locator("a.story").first.click()
    page.wait_for_url("**/orders/**")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    page.screenshot(path=str(console.screens / "order-phone.png"), full_page=True)


def test_an_order_that_waits_says_so_and_why(browser: object, console: Console) -> None:
    """A voided payment is not an order to ship: the story says it waits, not 'imported'."""
    _, end = past_day(hours=2)
    moment = end - timedelta(minutes=30, milliseconds=500)
    voided = console.catalog.add(moment, states={"shopify.displayFinancialStatus": "VOIDED"})
    console.worker.import_range(moment - timedelta(minutes=1), moment + timedelta(minutes=1))
    order_id = str(5_500_000_000_000 + voided.number)
    page = logged_in(browser, console, READ)
    page.goto(f"{console.url}/orders/{console.shop}/{order_id}")
    status = page.locator("#status")
    assert status.is_visible()
    text = status.inner_text()
    assert text.startswith("Waiting, not imported: payment voided")
    assert "financial_status=voided" in text and "Imported" not in text
    page.screenshot(path=str(console.screens / "order-waiting.png"), full_page=True)
    page.close()


# -- issue 28: signing in cannot be forged from elsewhere, nor guessed at speed ---------------


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"}, {},
     {"Origin": "null"}],
    ids=["other origin", "other referer", "no origin nor referer", "opaque origin"],
)  # fmt: skip
def test_a_cross_site_login_or_logout_is_refused(console: Console, headers: dict) -> None:  # type: ignore[type-arg]
    answer = requests.post(f"{console.url}/login", data={"token": ADMIN}, headers=headers,
                           allow_redirects=False, timeout=30)  # fmt: skip
    assert answer.status_code == 403 and "refused" in answer.text
    assert "set-cookie" not in {k.lower() for k in answer.headers}, "no session was opened"
    cookies = login_cookies(console, READ)
    out = requests.post(f"{console.url}/logout", cookies=cookies, headers=headers,
                        allow_redirects=False, timeout=30)  # fmt: skip
    assert out.status_code == 403
    assert requests.get(console.url, cookies=cookies, timeout=30).status_code == 200, (
        "a page elsewhere cannot log a person out"
    )


def test_wrong_tokens_are_throttled_per_client_without_locking_out_the_right_one(
    console: Console,
) -> None:
    tries = [
        requests.post(f"{console.url}/login", data={"token": f"guess-{n}"},
                      headers={"Origin": console.url}, allow_redirects=False, timeout=30)
        for n in range(8)
    ]  # fmt: skip
    codes = [t.status_code for t in tries]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
    assert int(tries[-1].headers["Retry-After"]) >= 1
    assert "try again in" in tries[-1].text
    # the same client is refused before its token is even read, right or wrong
    right = requests.post(f"{console.url}/login", data={"token": READ},
                          headers={"Origin": console.url}, allow_redirects=False,
                          timeout=30)  # fmt: skip
    assert right.status_code == 429


def test_the_pager_links_are_readable_on_the_page(
    browser: object, console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 30: the header's white link colour also painted Next and Last, white on near-white;
    a test that clicks them passes anyway, so their colour is held to the page's."""
    from pipeline.console import pages

    monkeypatch.setattr(pages, "PAGE", 4)
    page = logged_in(browser, console, READ)
    page.goto(f"{console.url}/?q=shop:{console.shop}")
    link = page.locator("nav.pages a").first
    assert link.is_visible()
    color = link.evaluate("a => getComputedStyle(a).color")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert color not in ("rgb(255, 255, 255)", background), color
    page.screenshot(path=str(console.screens / "pager.png"), full_page=True)
    page.close()


def test_every_time_on_a_page_is_written_one_way(browser: object, console: Console) -> None:
    """Issue 30: "First attempt" read December 5, 2026 7:47:57 PM America/New_York and "Last
    attempt" 2026-12-06 00:47:57 UTC. Now both (and every other) in the console's zone, with
    its abbreviation."""
    import re

    page = logged_in(browser, console, READ)
    page.goto(f"{console.url}/?q=shop:{console.shop}")
    row = page.locator("table:has(th:text('First attempt')) tbody tr").first
    cells = row.locator("td").all_inner_texts()
    times = [c for c in cells if re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", c)]
    assert len(times) == 2, cells
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T", t.strip()) for t in times)
    assert "UTC" not in page.locator("main").inner_text()
    page.screenshot(path=str(console.screens / "times.png"), full_page=True)
    page.close()


SIZES = {"desk": (1366, 900), "phone": (390, 844)}


def keep_screens(console_screens: Path) -> Path:
    """Where this run's screenshots go: LOGINSIGHTS_SCREENS_DIR when set (to look at them after
    the run, as a person would), else the test's own tmp dir."""
    import os

    kept = os.environ.get("LOGINSIGHTS_SCREENS_DIR")
    if not kept:
        return console_screens
    Path(kept).mkdir(parents=True, exist_ok=True)
    return Path(kept)


def test_every_page_reads_at_a_desk_and_on_a_phone(browser: object, console: Console) -> None:
    screens = keep_screens(console.screens)
    page = browser.new_page()  # type: ignore[attr-defined]
    order = ""
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{console.url}/login")
        page.screenshot(path=str(screens / f"login-{size}.png"), full_page=True)
        if size == "desk":
            page.get_by_label("Access token").fill(ADMIN)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{console.url}/")
            order = page.locator("a.story").first.get_attribute("href") or ""
            assert order.startswith("/orders/")
        for name, path in (("failures", "/"), ("order", order),
                           ("reconciliations", "/reconciliations"),
                           ("notifications", "/notifications")):  # fmt: skip
            page.goto(console.url + path)
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1, (
                f"{path} scrolls sideways at {width} px"
            )
            page.screenshot(path=str(screens / f"{name}-{size}.png"), full_page=True)


def test_with_solr_down_every_page_still_reads(browser: object, tmp_path: Path) -> None:
    screens = keep_screens(tmp_path)
    settings = Settings(solr_url="http://127.0.0.1:9/solr", api_tokens=[READ],
                        solr_retry_attempts=1)  # fmt: skip
    with served(create_app(settings, ledger=Ledger(tmp_path / "ledger.sqlite3"))) as url:
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(f"{url}/login")
        page.get_by_label("Access token").fill(READ)
        page.get_by_role("button", name="Log in").click()
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            for name, path in (("failures", "/"), ("reconciliations", "/reconciliations")):
                page.goto(url + path)
                assert page.evaluate(
                    "document.documentElement.scrollWidth - window.innerWidth") <= 1  # fmt: skip
                page.screenshot(path=str(screens / f"solr-down-{name}-{size}.png"),
                                full_page=True)  # fmt: skip
        page.goto(url + "/")
        assert "Solr is unreachable" in page.locator("main").inner_text()
        assert page.locator("#found").count() == 0, "no '0 failures' while nothing can be counted"


def test_the_console_shows_what_was_sent_and_what_waits(browser: object, console: Console) -> None:
    from pipeline.ledger import Notification

    ledger = console.worker.context.ledger
    sent = Notification(
        key=f"t:{console.shop}:1",
        route="ops",
        kind="right-away",
        subject=f"[loginsights] {console.shop} is BROKEN",
        body="its token",
        facts={},
    )
    waiting = Notification(
        key=f"t:{console.shop}:2",
        route="eu-team",
        kind="digest",
        subject="[loginsights] 3 new failures",
        body="- a, b: 3 new",
        facts={},
    )
    for note in (sent, waiting):
        ledger.keep_notification(note)
    kept = {n.key: n for n in ledger.recent_notifications()}
    ledger.notification_sent(kept[sent.key].id)
    ledger.notification_failed(kept[waiting.key].id, "mail.example.com refused the login", 0)
    page = logged_in(browser, console, READ)
    page.get_by_role("link", name="Notifications").click()
    text = page.locator("main").inner_text()
    assert f"[loginsights] {console.shop} is BROKEN" in text and "eu-team" in text
    assert "waiting" in text and "mail.example.com refused the login" in text
    assert page.locator("#waiting").inner_text() == "1"
    page.screenshot(path=str(keep_screens(console.screens) / "notifications-sent.png"),
                    full_page=True)  # fmt: skip
