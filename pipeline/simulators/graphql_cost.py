"""Shopify's calculated query cost and the bucket it is paid from, for the GraphQL simulator.

An object costs 1, a connection 2 plus ``first`` times its node's cost, scalars nothing; a query
requesting more than 1,000 points is refused. What a query costs in the end is counted over the
answer and the difference refunded. The bucket holds ``maximum`` points and refills at
``restore_rate`` a second (the plan's limits, which answers report in ``extensions.cost``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from graphql import FieldNode, OperationDefinitionNode, VariableNode

MAX_QUERY_COST = 1000


class CostBucket:
    """The calculated-cost bucket: points that refill at a steady rate."""

    def __init__(self, maximum: float, restore_rate: float) -> None:
        self.maximum, self.restore_rate = maximum, restore_rate
        self._available, self._at = maximum, time.monotonic()
        self._lock = threading.Lock()

    def take(self, requested: int) -> tuple[bool, float]:
        with self._lock:
            now = time.monotonic()
            self._available = min(
                self.maximum, self._available + (now - self._at) * self.restore_rate
            )
            self._at = now
            if requested > self._available:
                return False, self._available
            self._available -= requested
            return True, self._available

    def refund(self, points: float) -> float:
        with self._lock:
            self._available = min(self.maximum, self._available + points)
            return self._available

    def status(self, available: float) -> dict[str, float]:
        return {
            "maximumAvailable": float(self.maximum),
            "currentlyAvailable": float(int(available)),
            "restoreRate": float(self.restore_rate),
        }


def query_cost(document: Any, variables: dict[str, Any]) -> int:
    """Shopify's requested cost: objects 1, connections 2 + first x their node, scalars 0."""
    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if definition.operation.value == "mutation":
                total += 10
                continue
            total += sum(_field_cost(sel, variables) for sel in definition.selection_set.selections)
    return max(1, total)


def answer_cost(data: dict[str, Any]) -> int:
    """The actual cost: the same rule over what the answer holds."""
    return max(1, _data_cost(data))


def _field_cost(node: Any, variables: dict[str, Any]) -> int:
    if not isinstance(node, FieldNode) or node.selection_set is None:
        return 0
    children = sum(_field_cost(sel, variables) for sel in node.selection_set.selections)
    first = None
    for argument in node.arguments or ():
        if argument.name.value == "first":
            value: Any = argument.value
            if isinstance(value, VariableNode):
                first = variables.get(value.name.value)
            else:
                first = int(getattr(value, "value", 0))
    if first is not None:
        per_node = max(1, children)
        return 2 + int(first) * per_node
    if node.name.value in ("edges", "nodes", "node", "pageInfo"):
        return children
    return 1 + children


def _data_cost(value: Any) -> int:
    if isinstance(value, list):
        return sum(_data_cost(item) for item in value)
    if isinstance(value, dict):
        if "edges" in value or "nodes" in value:
            items = value.get("nodes") if "nodes" in value else value.get("edges")
            return 2 + sum(max(1, _data_cost(item)) for item in items or [])
        return sum(_data_cost(item) for item in value.values() if isinstance(item, dict | list))
    return 0


__all__ = ["MAX_QUERY_COST", "CostBucket", "answer_cost", "query_cost"]
