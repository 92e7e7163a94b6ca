"""End to end with the real parts: Debian's Prometheus scrapes a real `serve` with its worker,
evaluates the shipped alert rules, and Debian's Alertmanager delivers to a local receiver. A shop
whose platform starts refusing its token raises LoginsightsShopBroken, which arrives; the fix
resolves it, and the resolution arrives too.

The rules are the shipped file with each ``for:`` set to 0s and the intervals to a second, so
the test takes seconds, not the minutes an operator would want."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    SOLR_INDEXER,
    JsonReceiver,
    SolrUnderTest,
    free_port,
    past_day,
    served,
    simulator,
    wait_for,
    worker_for_sim,
)

from pipeline.api import ApiMetrics, create_app
from pipeline.events import EventStream
from pipeline.flusher import OutboxFlusher
from pipeline.indexing import LogInsightsIndex
from pipeline.ledger import Ledger
from pipeline.models import Platform
from pipeline.runner import RunOptions, run_forever
from pipeline.settings import Settings
from pipeline.simulators import OrderCatalog

RULES = (
    Path(__file__).resolve().parent.parent / "monitoring" / "prometheus" / "loginsights-rules.yml"
)


class AlertReceiver(JsonReceiver):
    """Alertmanager's webhook receiver: every alert it is sent (status, labels)."""

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return [alert for body in self.bodies for alert in body["alerts"]]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    def seen(self, name: str, status: str, **labels: str) -> bool:
        return any(
            a["status"] == status and a["labels"].get("alertname") == name
            and all(a["labels"].get(k) == v for k, v in labels.items())
            for a in self.alerts
        )  # fmt: skip


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    assert shutil.which(command[0]), f"{command[0]} is missing: apt-get install prometheus " \
        "prometheus-alertmanager (scripts/test.sh does)"  # fmt: skip
    return subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[str, AlertReceiver]]:
    receiver = AlertReceiver()
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: hook\n  group_by: [alertname, shop]\n  group_wait: 1s\n"
        "  group_interval: 1s\n  repeat_interval: 1h\n"
        f"receivers:\n  - name: hook\n    webhook_configs:\n      - url: {receiver.url}\n"
        "        send_resolved: true\n"
    )
    process = start(
        ["prometheus-alertmanager", f"--config.file={config}",
         f"--storage.path={tmp_path / 'am'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        tmp_path / "alertmanager.log",
    )  # fmt: skip
    try:
        yield f"127.0.0.1:{port}", receiver
    finally:
        process.terminate()
        process.wait(timeout=30)
        receiver.close()


def prometheus(tmp_path: Path, target: str, alertmanager: str) -> subprocess.Popen[bytes]:
    rules = tmp_path / "rules.yml"
    rules.write_text(re.sub(r"(?m)^(\s+for:) \S+$", r"\1 0s", RULES.read_text()))
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: [{rules}]\n"
        "alerting:\n  alertmanagers:\n    - static_configs:\n"
        f"        - targets: ['{alertmanager}']\n"
        "scrape_configs:\n  - job_name: loginsights\n    static_configs:\n"
        f"      - targets: ['{target}']\n"
    )
    return start(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{free_port()}"],
        tmp_path / "prometheus.log",
    )  # fmt: skip


def test_a_shop_refused_by_its_platform_raises_its_alert_and_the_fix_resolves_it(
    solr: SolrUnderTest, tmp_path: Path, alertmanager: tuple[str, AlertReceiver]
) -> None:
    manager, receiver = alertmanager
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    flusher = OutboxFlusher(ledger, LogInsightsIndex(solr.url, account=SOLR_INDEXER))
    start_, end = past_day(hours=1)
    catalog = OrderCatalog.generate(10, seed=5, start=start_, end=end)
    metrics, stop = ApiMetrics(), threading.Event()
    with simulator(Platform.SHOPIFY, catalog) as sim:
        worker = worker_for_sim(sim, "alerting-shop", ledger, start=start_, flusher=flusher)
        events = EventStream([metrics])
        worker.events = events
        sim.access_token = "revoked"  # type: ignore[attr-defined]
        app = create_app(Settings(solr_url=solr.url), metrics=metrics, ledger=ledger)
        thread = threading.Thread(
            target=run_forever, args=([worker], flusher),
            kwargs={"stop": stop, "options": RunOptions(poll_seconds=0.5,
                    daily_reconciliation=False), "events": events},
            daemon=True,
        )  # fmt: skip
        with served(app) as url:
            thread.start()
            scraper = prometheus(tmp_path, url.removeprefix("http://"), manager)
            try:
                assert wait_for(
                    lambda: receiver.seen("LoginsightsShopBroken", "firing", shop="alerting-shop"),
                    seconds=90,
                ), (tmp_path / "prometheus.log").read_text()[-2000:]
                firing = next(a for a in receiver.alerts if a["status"] == "firing")
                assert firing["annotations"]["summary"] == (
                    "alerting-shop is BROKEN: its orders are not imported"
                )
                assert firing["annotations"]["runbook"].startswith("`loginsights shops check`")
                sim.access_token = "shpat_simulated"  # type: ignore[attr-defined]  # the fix
                assert wait_for(
                    lambda: receiver.seen(
                        "LoginsightsShopBroken", "resolved", shop="alerting-shop"
                    ),
                    seconds=90,
                )
                assert ledger.count_orders("alerting-shop") == 10, "imported once it worked"
            finally:
                stop.set()
                scraper.terminate()
                scraper.wait(timeout=30)
                thread.join(timeout=30)
    ledger.close()
