"""One `run` crew over stand-in shops, as a process the fair-share test can start, stop and kill.

Each pass writes the shop's checkpoint under its lease (the fenced write every real pass makes)
and logs ``shop worker start end`` (monotonic seconds) so the test can check that no shop was
worked by two workers at once. Not a test module: `tests/test_holdings.py` starts it.

    python tests/fair_share_worker.py LEDGER_URL WORKER SHOPS LEASE_SECONDS LOG [bell] [life]

With ``bell``, the crew listens to the shares bell as `loginsights run` does; with ``life``,
it holds a life lock as `loginsights run` does.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.flusher import FlushReport
from pipeline.ledger import Ledger
from pipeline.life_lock import LifeLock
from pipeline.notice_bell import SHARES_CHANNEL, NoticeBell
from pipeline.runner import RunOptions, run_forever


class Shop:
    def __init__(self, name: str, ledger: Ledger, log: Any, worker: str) -> None:
        self.shop = type("Shop", (), {"name": name, "time_zone": "UTC"})()
        self.context = type("Context", (), {"name": name, "shop": self.shop})()
        self.context.ledger, self.context.source = ledger, None
        self.checkpoint = None
        self.ledger, self.log, self.worker = ledger, log, worker

    def catch_up(self, *, lease: Any = None, **_: Any) -> list[Any]:
        began = time.monotonic()
        time.sleep(0.05)  # a pass's work
        self.ledger.advance_checkpoint(self.shop.name, datetime.now(UTC), lease=lease)
        self.log.write(f"{self.shop.name} {self.worker} {began:.3f} {time.monotonic():.3f}\n")
        self.log.flush()
        return []

    def look_again(self, **_: Any) -> None:
        pass


class Flusher:
    def flush(self) -> FlushReport:
        return FlushReport()


def main() -> None:
    url, worker, shops, lease, log_path = sys.argv[1:6]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ledger = Ledger(url)
    flags = set(sys.argv[6:])
    bell = NoticeBell(ledger.url, channel=SHARES_CHANNEL) if "bell" in flags else None
    life = LifeLock(ledger.url) if "life" in flags else None
    with Path(log_path).open("a") as log:
        crew = [Shop(f"shop-{n:02d}", ledger, log, worker) for n in range(int(shops))]
        run_forever(crew, Flusher(), stop=stop, ledger=ledger,  # type: ignore[arg-type]
                    options=RunOptions(poll_seconds=0.3, lease_seconds=float(lease),
                                       worker_name=worker, daily_reconciliation=False),
                    shares_bell=bell, life_lock=life)  # fmt: skip


if __name__ == "__main__":
    main()
