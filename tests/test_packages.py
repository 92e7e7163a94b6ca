"""The package's shape, as a specification: what each package offers, and arrows that only point
down (no import cycle, not even one for types only). Changing a public name means changing this."""

from __future__ import annotations

import importlib
import sys

import pytest

from pipeline.settings import REPO_ROOT

PUBLIC = {
    "pipeline": [
        "LOG_DOCUMENT_FIELDS", "ConfigurationError", "DocType", "ErrorCode", "FailedAttempt",
        "IndexReport", "InvalidDocumentError", "LocalSolrError", "LogInsightsError",
        "LogInsightsIndex", "LogInsightsQuery", "Outcome", "Platform", "ReconciliationReport",
        "RefusedDocument", "Settings", "SolrAccessError", "SolrAnswer", "SolrError",
        "SolrRequestError", "SolrUnavailableError", "WindowReport", "documented_request",
    ],
    "pipeline.api": [
        "ApiMetrics", "GuardedQuery", "QueryLimits", "create_app", "exposure_warning",
        "guard_request",
    ],
    "pipeline.cli": [
        "Moment", "camel_keys", "console", "err_console", "json_option", "json_record",
        "library_errors", "main", "shop_option", "shop_zones", "steps",
    ],
    "pipeline.console": ["Console", "ConsoleDeps", "router"],
    "pipeline.notify": [
        "EVERYONE", "URLS_ENV", "AppriseDelivery", "Notifier", "NotifierLoop", "NotifyPlan",
        "Route", "Sent", "notifier_for", "notify_plan",
    ],
    "pipeline.ledger": [
        "OLD_VERSION_TAG", "FailureRecord", "HeldElsewhere", "KeptNotification", "Lease",
        "Ledger", "Notification", "OutboxRow", "STOPPED_WATCHING", "WaitingOrder", "WorkerPresence",
        "ledger_url", "libpq_conninfo", "payload_hash",
    ],
    "pipeline.orders": [
        "Address", "Disposition", "IncompleteOrder", "Judgement", "LineItem", "Order",
        "OrderStatus", "Problem", "UnmappableOrder", "explain", "is_graphql_order", "judge",
        "problems", "raw_cancelled", "raw_channel", "raw_created_at", "raw_order_id",
        "raw_updated_at", "to_order",
    ],
    "pipeline.search": ["GuardedQuery", "QueryLimits", "guard_request"],
    "pipeline.simulators": [
        "Faults", "OrderCatalog", "SfccSimulator", "ShopifySimulator", "ShoplazzaSimulator",
        "SimOrder", "SimulatorServer",
    ],
    "pipeline.solr": ["SolrAccount", "SolrAccounts", "SolrRole"],
    "pipeline.sources": ["OrderSource"],
}  # fmt: skip


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_each_package_offers_exactly_its_public_names(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(PUBLIC[package])
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name} is named but missing"


def test_every_package_is_listed() -> None:
    packages = {
        ".".join(path.relative_to(REPO_ROOT).parent.parts)
        for path in (REPO_ROOT / "pipeline").rglob("__init__.py")
        if "migrations" not in path.parts
    }
    assert packages == set(PUBLIC)


def test_imports_point_down_with_no_cycle_anywhere() -> None:
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        architecture = importlib.import_module("architecture")
    finally:
        sys.path.pop(0)
    shape = architecture.measure()
    assert shape["cycles"] == [], "a module imports, even for types only, one that imports it"
