"""The console's weight and first render, in Debian's chromium (Playwright).

Run:  .venv/bin/python scripts/bench/console_bench.py [--failures 2000] [--loads 10]

A local Solr holds FAILURES failure documents over 20 shops; `create_app` serves the console
on 127.0.0.1. Chromium (headless) logs in and loads the failures page LOADS times (cache off):
bytes transferred per resource type, and the Navigation Timing of the first contentful paint
and of the load event, as medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import uvicorn
from rig import ACCOUNTS, failed_attempts, free_port, local_solr

from pipeline.api import create_app
from pipeline.documents import failure_document
from pipeline.indexing import LogInsightsIndex
from pipeline.settings import Settings

TOKEN = "bench-console-token"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--failures", type=int, default=2000)
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="loginsights-console-bench-"))
    with local_solr(work) as solr_url:
        zone = ZoneInfo("America/New_York")
        index = LogInsightsIndex(solr_url, account=ACCOUNTS.indexer)
        shops = [f"s{n}" for n in range(20)]
        index.post_documents(
            [failure_document(a, ttl="+60DAYS", zone=zone, version=1)
             for a in failed_attempts(args.failures, shops)]
        )  # fmt: skip
        index.soft_commit()
        port = free_port()
        app = create_app(Settings(solr_url=solr_url, api_tokens=[TOKEN]))
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True,
                args=["--no-sandbox", "--disable-background-networking",
                      "--disable-component-update"])  # fmt: skip
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{url}/login")
            page.get_by_label("Access token").fill(TOKEN)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_load_state("networkidle")
            sizes: dict[str, int] = {}
            paints, loads = [], []
            cdp = context.new_cdp_session(page)
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})

            def weigh(response) -> None:  # type: ignore[no-untyped-def]
                kind = response.request.resource_type
                sizes[kind] = sizes.get(kind, 0) + len(response.body() or b"")

            for n in range(args.loads):
                if n == 0:
                    page.on("response", weigh)
                page.goto(f"{url}/", wait_until="load")
                if n == 0:
                    page.wait_for_load_state("networkidle")
                    page.remove_listener("response", weigh)
                page.wait_for_timeout(200)  # paint entries arrive just after the load event
                timing = page.evaluate(
                    "() => ({fcp: (performance.getEntriesByType('paint').find("
                    "e => e.name === 'first-contentful-paint') || {}).startTime,"
                    " load: performance.timing.loadEventEnd - performance.timing.navigationStart})"
                )
                paints.append(timing["fcp"] or float("nan"))
                loads.append(timing["load"])
            browser.close()
        server.should_exit = True
    total = sum(sizes.values())
    print(f"### Console page weight and first render ({datetime.now(UTC):%Y-%m-%d}, 2 cores)\n")
    print(f"Command: `.venv/bin/python scripts/bench/console_bench.py --failures {args.failures} "
          f"--loads {args.loads}`\n")  # fmt: skip
    print("| resource type | bytes |")
    print("|---|---|")
    for kind, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {size:,} |")
    print(f"| **total** | **{total:,}** |\n")
    print("| first contentful paint, median ms | load event, median ms |")
    print("|---|---|")
    print(f"| {statistics.median(paints):.0f} | {statistics.median(loads):.0f} |")


if __name__ == "__main__":
    main()
