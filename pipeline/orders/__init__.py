"""Orders as the order store knows them: the canonical model, platform mappings, import rules."""

from pipeline.orders.canonical import Address, LineItem, Order, OrderStatus
from pipeline.orders.dispositions import Disposition, Judgement, judge
from pipeline.orders.mapping import (
    IncompleteOrder,
    UnmappableOrder,
    is_graphql_order,
    raw_cancelled,
    raw_channel,
    raw_created_at,
    raw_order_id,
    raw_updated_at,
    to_order,
)
from pipeline.orders.rules import Problem, explain, problems

__all__ = [
    "Address",
    "Disposition",
    "IncompleteOrder",
    "Judgement",
    "LineItem",
    "Order",
    "OrderStatus",
    "Problem",
    "UnmappableOrder",
    "explain",
    "is_graphql_order",
    "judge",
    "problems",
    "raw_cancelled",
    "raw_channel",
    "raw_created_at",
    "raw_updated_at",
    "raw_order_id",
    "to_order",
]
