"""The logInsights configset, read as the spec describes it (DESIGN.md, issue 2)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from conftest import CONFIGSET

from pipeline.models import LOG_DOCUMENT_FIELDS

SCHEMA = ET.parse(CONFIGSET / "schema.xml").getroot()
CONFIG = ET.parse(CONFIGSET / "solrconfig.xml").getroot()


def fields() -> dict[str, ET.Element]:
    return {f.get("name", ""): f for f in SCHEMA.iter("field")}


def test_the_eleven_documented_fields_exist_and_are_stored() -> None:
    schema_fields = fields()
    for name in LOG_DOCUMENT_FIELDS:
        assert name in schema_fields, name
        assert schema_fields[name].get("stored") == "true", name


def test_document_id_is_the_unique_key() -> None:
    assert SCHEMA.findtext("uniqueKey") == "document-id"


def test_types_serve_the_admin_ui() -> None:
    schema_fields = fields()
    assert schema_fields["errorMessage"].get("type") == "text_general"
    for exact in ("document-id", "shopifyOrderName", "docType", "orderId", "errorCode"):
        assert schema_fields[exact].get("type") == "string", exact
    for date in ("timestamp", "expire_at", "orderCreatedAt", "firstAttemptedAt"):
        assert schema_fields[date].get("type") == "pdate", date
    assert schema_fields["version"].get("type") == "plong"


def test_no_schemaless_guessing() -> None:
    assert CONFIG.find("schemaFactory").get("class") == "ClassicIndexSchemaFactory"  # type: ignore[union-attr]
    assert not list(SCHEMA.iter("dynamicField"))
    assert "AddSchemaFields" not in ET.tostring(CONFIG, encoding="unicode")


def test_default_chain_expires_documents_before_distributing_them() -> None:
    chains = [c for c in CONFIG.iter("updateRequestProcessorChain") if c.get("default") == "true"]
    assert len(chains) == 1
    order = [p.get("class", "").rsplit(".", 1)[-1] for p in chains[0].iter("processor")]
    assert order.index("DocExpirationUpdateProcessorFactory") < order.index(
        "DistributedUpdateProcessorFactory"
    )
    assert order.index("TimestampUpdateProcessorFactory") < order.index(
        "DistributedUpdateProcessorFactory"
    )
    expiration = next(
        p
        for p in chains[0].iter("processor")
        if p.get("class", "").endswith("DocExpirationUpdateProcessorFactory")
    )
    settings = {e.get("name"): e.text for e in expiration}
    assert settings["ttlFieldName"] == "ttl"
    assert settings["expirationFieldName"] == "expire_at"
    assert settings["autoDeletePeriodSeconds"] == "${loginsights.autoDeletePeriodSeconds:300}"


def test_search_handlers_return_the_documented_fields_by_default() -> None:
    for handler in CONFIG.iter("requestHandler"):
        if handler.get("class") == "solr.SearchHandler":
            fl = next(e.text for e in handler.iter("str") if e.get("name") == "fl")
            assert tuple((fl or "").split(",")) == LOG_DOCUMENT_FIELDS, handler.get("name")


def test_soft_commits_make_documents_visible_within_seconds() -> None:
    soft = CONFIG.find("updateHandler/autoSoftCommit/maxTime")
    assert soft is not None and soft.text is not None
    default_ms = int(soft.text.rsplit(":", 1)[-1].rstrip("}"))
    assert default_ms <= 2000
