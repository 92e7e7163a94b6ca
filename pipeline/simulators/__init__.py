"""HTTP servers that play Shopify, Shoplazza and SFCC for tests and demos (DESIGN.md)."""

from pipeline.simulators.catalog import OrderCatalog, SimOrder
from pipeline.simulators.faults import Faults
from pipeline.simulators.server import SimulatorServer
from pipeline.simulators.sfcc import SfccSimulator
from pipeline.simulators.shopify import ShopifySimulator
from pipeline.simulators.shoplazza import ShoplazzaSimulator

__all__ = [
    "Faults",
    "OrderCatalog",
    "SfccSimulator",
    "ShopifySimulator",
    "ShoplazzaSimulator",
    "SimOrder",
    "SimulatorServer",
]
