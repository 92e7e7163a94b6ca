"""Prometheus metrics of the API and, when it runs in the same process, of the import worker.

Each app gets its own registry, so that several apps (tests, a worker thread) never collide on
metric names. Labels are bounded: endpoints are the app's routes, refusals are counted by rule
category, never by the caller's key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from pipeline.events import Event
from pipeline.models import FailedAttempt
from pipeline.reports import (
    Arrival,
    OrderLatency,
    OutboxState,
    Reason,
    ReconciliationReport,
    ShopPass,
    WindowReport,
)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    """The counters and histograms ``/metrics`` exposes."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "loginsights_api_requests",
            "HTTP requests answered, by route and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "loginsights_api_request_seconds",
            "Time to answer a request, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.solr_errors = Counter(
            "loginsights_api_solr_errors",
            "Solr calls that failed: unavailable (no answer, 5xx) or refused (Solr's 4xx).",
            ["kind"],
            registry=self.registry,
        )
        self.solr_cancellations = Counter(
            "loginsights_api_solr_cancellations",
            "Costly searches the API stopped waiting for and asked Solr to cancel, by what Solr "
            "said: cancelled, finished (already done) or failed.",
            ["outcome"],
            registry=self.registry,
        )
        self.refused = Counter(
            "loginsights_api_refused",
            "Requests refused before reaching Solr, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.worker_orders = Counter(
            "loginsights_worker_orders",
            "Orders the in-process worker handled, by shop and outcome.",
            ["shop", "outcome"],
            registry=self.registry,
        )
        self.shop_lag = Gauge(
            "loginsights_shop_lag_seconds",
            "How far each shop's checkpoint is behind now, after its last pass.",
            ["shop"],
            registry=self.registry,
        )
        self.shop_calls = Counter(
            "loginsights_shop_api_calls",
            "Calls made to each shop's platform API.",
            ["shop"],
            registry=self.registry,
        )
        self.shop_rate_limited = Counter(
            "loginsights_shop_rate_limited",
            "429s (and SFCC load-shedding 503s) received from each shop's platform.",
            ["shop"],
            registry=self.registry,
        )
        self.shop_budget_wait = Counter(
            "loginsights_shop_budget_wait_seconds",
            "Time spent waiting for each shop's platform budget (pacing, not errors).",
            ["shop"],
            registry=self.registry,
        )
        self._seen: dict[str, tuple[int, int, float]] = {}
        self._broken: set[str] = set()
        self.failures = Counter(
            "loginsights_failures",
            "Failed import attempts recorded, by shop and error code.",
            ["shop", "error_code"],
            registry=self.registry,
        )
        self.outbox_waiting = Gauge(
            "loginsights_outbox_waiting",
            "Log documents waiting in the outbox for Solr (after the last flush).",
            registry=self.registry,
        )
        self.outbox_dead = Gauge(
            "loginsights_outbox_refused",
            "Log documents Solr refused, kept for `loginsights outbox --retry-dead`.",
            registry=self.registry,
        )
        self.shop_broken = Gauge(
            "loginsights_shop_broken",
            "1 for a shop that cannot be worked until a person acts (see `loginsights workers`).",
            ["shop"],
            registry=self.registry,
        )
        self.worker_windows = Counter(
            "loginsights_worker_windows",
            "Import windows the in-process worker completed, by shop.",
            ["shop"],
            registry=self.registry,
        )

        self.order_latency = Histogram(
            "loginsights_order_latency_seconds",
            "From an order's creation at the platform to stored, or its failure posted for Solr, "
            "by shop and arrival (push: a webhook announced it; poll: a window found it).",
            ["shop", "arrival"],
            buckets=(1, 2, 5, 10, 20, 30, 60, 120, 180, 300, 600, 1800, 3600, float("inf")),
            registry=self.registry,
        )
        self.webhook_delay = Histogram(
            "loginsights_webhook_delivery_delay_seconds",
            "From the platform's event (X-Shopify-Triggered-At) to its delivery kept here: how "
            "late the platform delivers, its retries included, by platform.",
            ["platform"],
            buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 300, 3600, float("inf")),
            registry=self.registry,
        )
        self._fleet_metrics()
        self.webhooks = Counter(
            "loginsights_webhooks",
            "Webhook deliveries received, by platform and what became of them "
            "(noted, duplicate, ignored, refused, unavailable).",
            ["platform", "result"],
            registry=self.registry,
        )

    def _fleet_metrics(self) -> None:
        def gauge(name: str, help_text: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, help_text, list(labels), registry=self.registry)

        self.workers_live = gauge(
            "loginsights_workers_live", "Workers holding a live lease on some shop (the ledger)."
        )
        self.shops_unheld = gauge(
            "loginsights_shops_unheld",
            "Shops the ledger knows that no live worker holds (and that are not BROKEN).",
        )
        self.checkpoint_age = gauge(
            "loginsights_shop_checkpoint_age_seconds",
            "Now minus each shop's checkpoint, from the ledger (whichever worker holds it).",
            ("shop",),
        )
        self.outbox_oldest = gauge(
            "loginsights_outbox_oldest_seconds",
            "How long the oldest log document still waiting for Solr has waited (0: none).",
        )
        self.notices_pending = gauge(
            "loginsights_webhook_notices_pending", "Webhook notices not yet imported.", ("shop",)
        )
        self.notice_oldest = gauge(
            "loginsights_webhook_notice_oldest_seconds",
            "How long the oldest webhook notice not yet imported has waited.",
            ("shop",),
        )
        self.notices_given_up = gauge(
            "loginsights_webhook_notices_given_up",
            "Webhook notices given up in the last day (the platform never showed the order).",
            ("shop",),
        )
        self.worker_shops = gauge(
            "loginsights_worker_shops", "Shops each live worker holds.", ("worker",)
        )
        self.worker_share = gauge(
            "loginsights_worker_share", "Each live worker's fair share of the shops.", ("worker",)
        )
        self.worker_passes = gauge(
            "loginsights_worker_passes_per_minute",
            "Passes each live worker began a minute (at its last heartbeat).",
            ("worker",),
        )
        self.worker_cpu = gauge(
            "loginsights_worker_cpu_share",
            "CPU each live worker used, as a share of one core (at its last heartbeat).",
            ("worker",),
        )
        self.notifications_waiting = gauge(
            "loginsights_notifications_waiting", "Notifications kept but not yet sent."
        )
        self.reconciliation_orders = gauge(
            "loginsights_reconciliation_orders",
            "Orders the shop's last daily reconciliation found, by reason (missing_imported_now, "
            "missing_failed_now, cancelled_at_platform_open_in_store, …).",
            ("shop", "reason"),
        )
        self.reconciliation_time = gauge(
            "loginsights_reconciliation_window_end_timestamp_seconds",
            "The end of the span the shop's last reconciliation covered.",
            ("shop",),
        )

    def hear(self, event: Event) -> None:
        """A listener of the run's event stream (``pipeline.events``)."""
        if isinstance(event, WindowReport):
            self.observe_window(event)
        elif isinstance(event, FailedAttempt):
            self.observe_failure(event)
        elif isinstance(event, OrderLatency):
            self.observe_latency(event.shop, event.arrival, event.seconds)
        elif isinstance(event, ShopPass):
            self.observe_shop(event)
        elif isinstance(event, OutboxState):
            self.observe_outbox(event.waiting, event.dead)
        elif isinstance(event, ReconciliationReport):
            self.observe_reconciliation(event)

    def observe_fleet(self, health: Mapping[str, Any]) -> None:
        """The ledger's view at each scrape (``shop_lag.fleet_health``): the same in every
        process of a fleet, so an alert may read any one of them (or ``max`` over all)."""
        self.workers_live.set(health["workersLive"])
        self.shops_unheld.set(len(health["shopsUnheld"]))
        for shop, seconds in health["checkpointAge"].items():
            self.checkpoint_age.labels(shop).set(seconds)
        self.outbox_oldest.set(health["outboxOldestSeconds"])
        for shop, notices in health["notices"].items():
            self.notices_pending.labels(shop).set(notices["pending"])
            self.notice_oldest.labels(shop).set(notices["oldestSeconds"])
            self.notices_given_up.labels(shop).set(notices["givenUp"])
        self.notifications_waiting.set(health["notificationsWaiting"])
        for gauge in (self.worker_shops, self.worker_share, self.worker_passes, self.worker_cpu):
            gauge.clear()  # only the workers alive now
        for worker in health.get("workers", []):
            self.worker_shops.labels(worker["worker"]).set(worker["shopsHeld"])
            self.worker_share.labels(worker["worker"]).set(worker["share"])
            self.worker_passes.labels(worker["worker"]).set(worker["passesPerMinute"])
            self.worker_cpu.labels(worker["worker"]).set(worker["cpuShare"])

    def observe_reconciliation(self, report: ReconciliationReport) -> None:
        """The orders a shop's last reconciliation found, by reason (0 for a balanced day)."""
        for reason in Reason:
            self.reconciliation_orders.labels(report.shop, reason.value).set(report.count(reason))
        self.reconciliation_time.labels(report.shop).set(report.window_end.timestamp())

    def observe_latency(self, shop: str, arrival: Arrival, seconds: float) -> None:
        self.order_latency.labels(shop, arrival.value).observe(max(0.0, seconds))

    def observe_shop(self, shop_pass: ShopPass) -> None:
        """Freshness and platform budget after a pass."""
        shop = shop_pass.shop
        if shop_pass.lag_seconds is not None:
            self.shop_lag.labels(shop).set(shop_pass.lag_seconds)
        seen = self._seen.setdefault(shop, (0, 0, 0.0))
        self.shop_calls.labels(shop).inc(max(0, shop_pass.calls - seen[0]))
        self.shop_rate_limited.labels(shop).inc(max(0, shop_pass.rate_limited - seen[1]))
        self.shop_budget_wait.labels(shop).inc(max(0.0, shop_pass.budget_wait_seconds - seen[2]))
        self._seen[shop] = (shop_pass.calls, shop_pass.rate_limited, shop_pass.budget_wait_seconds)

    def observe_problems(self, problems: Mapping[str, object]) -> None:
        """The ledger's shop problems, at each scrape: 1 while broken, 0 once fixed."""
        for shop in set(self._broken) | set(problems):
            self.shop_broken.labels(shop).set(1 if shop in problems else 0)
        self._broken = set(problems)

    def observe_failure(self, attempt: FailedAttempt) -> None:
        self.failures.labels(attempt.shop, attempt.error_code.value).inc()

    def observe_outbox(self, waiting: int, dead: int) -> None:
        """After each flush."""
        self.outbox_waiting.set(waiting)
        self.outbox_dead.set(dead)

    def observe_window(self, report: WindowReport) -> None:
        """Each window a worker in this process completed."""
        self.worker_windows.labels(report.shop).inc()
        for outcome, count in (
            ("imported", report.imported),
            ("already_imported", report.already),
            ("failed", report.failed),
            ("failed_unchanged", report.unchanged),
        ):
            self.worker_orders.labels(report.shop, outcome).inc(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)


__all__ = ["ApiMetrics"]
