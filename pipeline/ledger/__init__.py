"""The ledger: the order store and the memory of every import, in SQLite (WAL).

Tables:
    orders       imported orders (a refresh adds a version), with the raw payload as sent
    failures     one row per failing order: first and last attempt, count, last error
    checkpoints  per shop, the end of the last window imported completely
    outbox       log documents for Solr not yet accepted by it
    attempts     every failed attempt of every order (the history ``loginsights show`` prints)
    reconciliations  the daily reconciliation reports

A failed attempt and its outbox row are written in one transaction, and so are a success and
the outbox row that marks the failure resolved: if the process dies, either both exist or
neither. The outbox is emptied only by ``OutboxFlusher`` once Solr has accepted a document.
"""

from pipeline.ledger.base import LedgerBase, payload_hash
from pipeline.ledger.failures import FailureLog, FailureRecord
from pipeline.ledger.orders import OLD_VERSION_TAG, OrderBook
from pipeline.ledger.outbox import OutboxQueue, OutboxRow
from pipeline.ledger.progress import ShopProgress


class Ledger(OrderBook, FailureLog, ShopProgress, OutboxQueue, LedgerBase):
    """The SQLite order store; one per process, shared by the worker and the flusher."""


__all__ = ["OLD_VERSION_TAG", "FailureRecord", "Ledger", "OutboxRow", "payload_hash"]
