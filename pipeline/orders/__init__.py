"""Orders as the order store knows them: the canonical model, platform mappings, import rules."""

from pipeline.orders.canonical import Address, LineItem, Order, OrderStatus
from pipeline.orders.mapping import (
    UnmappableOrder,
    raw_cancelled,
    raw_channel,
    raw_created_at,
    raw_order_id,
    to_order,
)
from pipeline.orders.rules import Problem, explain, problems

__all__ = [
    "Address",
    "LineItem",
    "Order",
    "OrderStatus",
    "Problem",
    "UnmappableOrder",
    "explain",
    "problems",
    "raw_cancelled",
    "raw_channel",
    "raw_created_at",
    "raw_order_id",
    "to_order",
]
