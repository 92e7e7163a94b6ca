"""Shopify's Admin GraphQL schema as Shopify publishes it, one per API version.

Built from the introspection dumps in ``@shopify/dev-mcp`` (``pipeline/contracts.py``): the
simulator serves exactly these types, enums and custom scalars, and the conformance tests
validate every document the connector sends against each of them.

Shopify's schema deprecates some fields that implement a non-deprecated interface field
(``ChannelInformation.id`` under ``Node.id``, for one). The GraphQL specification allows this;
graphql-core's schema check refuses it, and would refuse every query. Those findings, and only
those, are set aside: any other problem in a dump still fails loudly.
"""

from __future__ import annotations

import threading
from pathlib import Path

from graphql import GraphQLSchema, build_client_schema, validate_schema

from pipeline.contracts import Contracts

_TOLERATED = "must not be deprecated"
_cache: dict[tuple[Path, str], GraphQLSchema] = {}
_lock = threading.Lock()


def admin_schema(contracts: Contracts, version: str) -> GraphQLSchema:
    """The published schema of one API version (built once per process: about a second)."""
    key = (contracts.root, version)
    with _lock:
        if key not in _cache:
            schema = build_client_schema(contracts.shopify_introspection(version))  # type: ignore[arg-type]
            problems = [e for e in validate_schema(schema) if _TOLERATED not in e.message]
            if problems:
                raise ValueError(f"Shopify's {version} schema does not build: {problems[0]}")
            schema._validation_errors = []  # the tolerated findings only (see above)
            _cache[key] = schema
        return _cache[key]


__all__ = ["admin_schema"]
