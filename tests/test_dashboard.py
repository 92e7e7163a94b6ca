"""The Grafana dashboard that ships in monitoring/ names only metrics /metrics exports."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from pipeline.api.metrics import ApiMetrics
from pipeline.models import ErrorCode, FailedAttempt, Platform
from pipeline.reports import ShopPass, WindowReport
from pipeline.settings import REPO_ROOT
from pipeline.windows import ImportWindow

DASHBOARD = REPO_ROOT / "monitoring" / "grafana" / "loginsights.json"


def exported_names() -> set[str]:
    """Every sample name /metrics renders once each hook has been called."""
    metrics = ApiMetrics()
    window = ImportWindow(
        start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 2, tzinfo=UTC)
    )
    metrics.observe_window(WindowReport(window, shop="s", seen=2, imported=1, failed=1))
    metrics.observe_shop(
        ShopPass("s", lag_seconds=5.0, calls=3, rate_limited=1, budget_wait_seconds=1.0)
    )
    metrics.observe_failure(
        FailedAttempt(
            platform=Platform.SHOPIFY,
            shop="s",
            order_id="1",
            order_name="#1",
            order_created_at=window.start,
            error_message="x",
            error_code=ErrorCode.BAD_EMAIL,
        )
    )
    metrics.observe_outbox(2, 1)
    metrics.latency.labels("/api/solr-query").observe(0.01)
    metrics.requests.labels("/api/solr-query", "GET", "200").inc()
    metrics.refused.labels("guard").inc()
    metrics.solr_errors.labels("unavailable").inc()
    text = metrics.render().decode()
    return {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"
    }


def test_every_metric_the_dashboard_names_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    named = {name for expr in expressions for name in re.findall(r"loginsights_[a-z_]+", expr)}
    assert named, "the dashboard queries loginsights' metrics"
    missing = named - exported_names()
    assert not missing, f"the dashboard names metrics /metrics does not export: {missing}"


def test_the_dashboard_covers_what_operators_watch() -> None:
    titles = " ".join(p["title"].lower() for p in json.loads(DASHBOARD.read_text())["panels"])
    for topic in ("imported per shop", "lag", "error code", "outbox", "latency"):
        assert topic in titles, topic
