"""The composition root: the objects loginsights runs, built in one place from the settings, the
shops file and the environment (httpx's client takes its transport; this hands every service
what it needs). The CLI commands, ``serve`` and ``run`` ask a ``Wiring`` for what they use and
build nothing themselves; domain modules take their collaborators and never build them.

One ``Wiring`` per process: one ledger (its pool), one outbox flusher (the outbox promises one
flush at a time per process), one ZooKeeper watch, one connector per shop (its transport and
budget: ``pipeline.connectors``), one clock; workers and services share them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from functools import cached_property

from pipeline.connectors import connect, webhook_shop, webhook_subscriptions
from pipeline.errors import ConfigurationError
from pipeline.events import QUIET, EventStream
from pipeline.flusher import OutboxFlusher
from pipeline.indexing import LogInsightsIndex
from pipeline.intake import ShopContext
from pipeline.ledger import Ledger
from pipeline.life_lock import LifeLock
from pipeline.models import DocType
from pipeline.notice_bell import SHARES_CHANNEL, NoticeBell
from pipeline.notify import AppriseDelivery, Notifier, NotifyPlan, notifier_for, notify_plan
from pipeline.query import LogInsightsQuery
from pipeline.runner import default_worker_name
from pipeline.settings import Settings
from pipeline.shops import ShopConfig, ShopsFile, read_shops_file, shop_named, version_warning
from pipeline.solr.accounts import SolrRole
from pipeline.solr.zookeeper import live_nodes
from pipeline.webhooks import WebhookInbox, WebhookShop, WebhookState, webhook_states
from pipeline.windows import Clock, utc_now
from pipeline.worker import ImportWorker

log = logging.getLogger(__name__)


class Wiring:
    """Builds, once, what a loginsights process runs; ``close`` lets go of it."""

    def __init__(
        self, settings: Settings, environ: Mapping[str, str], *, clock: Clock = utc_now
    ) -> None:
        self.settings = settings
        self.environ = environ
        self.clock = clock
        self._contexts: dict[str, ShopContext] = {}
        self._building = threading.Lock()  # the console's requests and the workers share them

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(
            self.settings.ledger_location,
            pool_size=self.settings.ledger_pool_size,
            clock=self.clock,
        )

    @cached_property
    def index(self) -> LogInsightsIndex:
        """The indexer's view of logInsights: posts documents as the indexer account."""
        settings = self.settings
        return LogInsightsIndex(
            settings.solr_url,
            settings.collection,
            ttl_for=settings.ttl_for,
            time_zone=settings.time_zone,
            batch_size=settings.index_batch_size,
            timeout=settings.solr_timeout_seconds,
            retry_attempts=settings.solr_retry_attempts,
            account=settings.solr_account(SolrRole.INDEXER),
            live=live_nodes(settings.zk_host, settings.collection, settings.zk_credentials()),
        )

    @cached_property
    def search(self) -> LogInsightsQuery:
        """The documented request against logInsights, as the reader account."""
        settings = self.settings
        return LogInsightsQuery(
            settings.solr_url,
            allowed_cores=(settings.collection,),
            timeout=settings.solr_timeout_seconds,
            account=settings.solr_account(SolrRole.READER),
            live=live_nodes(settings.zk_host, settings.collection, settings.zk_credentials()),
        )

    @cached_property
    def flusher(self) -> OutboxFlusher:
        """The one flusher of this process, draining the ledger's outbox into Solr."""
        return OutboxFlusher(self.ledger, self.index, batch_size=self.settings.index_batch_size)

    @cached_property
    def notify_plan(self) -> NotifyPlan:
        """Who is told what (LOGINSIGHTS_NOTIFY_URLS, the shops file's [notify] table)."""
        shops_file = self.settings.shops_file if self.settings.shops_file.is_file() else None
        return notify_plan(shops_file, self.environ, default_zone=self.settings.time_zone)

    def notifier(self) -> Notifier | None:
        """The notifier of this process, when some route can be used; None (and its problems
        logged) otherwise."""
        names = list(self.shops_file.names) if self.settings.shops_file.is_file() else []
        return notifier_for(self.notify_plan, self.ledger, AppriseDelivery, names, self.clock)

    @cached_property
    def shops_file(self) -> ShopsFile:
        return read_shops_file(self.settings.shops_file)

    @property
    def shops(self) -> dict[str, ShopConfig]:
        """The shops that can be worked; a table that cannot be read is in ``broken_shops``."""
        return self.shops_file.shops

    @property
    def broken_shops(self) -> dict[str, str]:
        return self.shops_file.broken

    def context(self, shop: ShopConfig | str) -> ShopContext:
        """One shop of the shops file, its connector built once (credentials from the
        environment): what reconciliation and the troubleshooting flows are handed."""
        config = shop_named(self.shops, shop, self.broken_shops) if isinstance(shop, str) else shop
        with self._building:
            if config.name in self._contexts:
                return self._contexts[config.name]
            self._contexts[config.name] = ShopContext(
                shop=config,
                source=connect(config, self.environ),
                ledger=self.ledger,
                default_ttl=self.settings.ttl_for(DocType.for_platform(config.platform)),
                time_zone=self.settings.time_zone,
                flusher=self.flusher,
                clock=self.clock,
            )
            return self._contexts[config.name]

    def worker(
        self,
        shop: ShopConfig | str,
        *,
        stop: threading.Event | None = None,
        events: EventStream = QUIET,
    ) -> ImportWorker:
        """A worker for one shop of the shops file, publishing to ``events``."""
        return ImportWorker(self.context(shop), stop=stop, events=events)

    def workers(
        self,
        shop_names: Sequence[str],
        *,
        stop: threading.Event,
        events: EventStream = QUIET,
    ) -> list[ImportWorker]:
        """Workers for the named shops (all of them when none are named); a shop that cannot be
        configured is reported in the ledger and skipped, the others run."""
        broken = {
            name: problem
            for name, problem in self.broken_shops.items()
            if not shop_names or name in shop_names
        }
        for name, problem in broken.items():  # like a missing secret: BROKEN, the others run
            log.error("%s: cannot be worked, skipped until it is fixed: %s", name, problem)
            self.ledger.report_problem(name, problem, worker=default_worker_name())
        chosen = [shop_named(self.shops, name) for name in shop_names if name not in broken] or (
            [] if shop_names else list(self.shops.values())
        )
        for shop in chosen:
            warning = version_warning(shop, self.clock().date())
            if warning:
                log.warning(warning)
        workers = []
        for shop in chosen:
            try:
                workers.append(self.worker(shop, stop=stop, events=events))
            except ConfigurationError as err:  # this shop waits for a person; the others run
                log.error("%s: cannot be worked, skipped until it is fixed: %s", shop.name, err)
                self.ledger.report_problem(shop.name, str(err), worker=default_worker_name())
            else:
                self.ledger.clear_problem(shop.name)
        if not workers:
            raise ConfigurationError(
                "no shop of the shops file can be worked; fix the problems above and run again"
            )
        return workers

    def webhook_inbox(self) -> WebhookInbox | None:
        """Where ``serve`` keeps the deliveries of the shops that receive webhooks; None when no
        shop does. A shop whose secret is missing is reported and left to polling."""
        shops: list[WebhookShop] = []
        for shop in self.shops.values():
            try:
                found = webhook_shop(shop, self.environ)
            except ConfigurationError as err:
                log.error("%s: its webhooks are refused until this is fixed: %s", shop.name, err)
                continue
            if found is not None:
                shops.append(found)
        return WebhookInbox(self.ledger, shops, clock=self.clock) if shops else None

    def notice_bell(self) -> NoticeBell | None:
        """The bell that wakes ``run`` when ``serve`` keeps a notice: PostgreSQL only (a SQLite
        ledger has one process, which looks every second)."""
        return None if self.ledger.is_sqlite else NoticeBell(self.ledger.url)

    def shares_bell(self) -> NoticeBell | None:
        """The bell that tells each ``run`` another worker joined, left or let shops go, so the
        shares move at once (PostgreSQL only)."""
        if self.ledger.is_sqlite:
            return None
        return NoticeBell(self.ledger.url, channel=SHARES_CHANNEL)

    def life_lock(self) -> LifeLock | None:
        """The lock a ``run`` holds while it lives, so the others free its shops at once when
        it dies rather than when its leases lapse (PostgreSQL only)."""
        return None if self.ledger.is_sqlite else LifeLock(self.ledger.url)

    def webhook_states(self, *, register_at: str | None = None) -> list[WebhookState]:
        """The push path of every shop that receives webhooks (``loginsights webhooks``)."""
        shops = [shop for shop in self.shops.values() if shop.webhook_secret_env]
        if not shops:
            raise ConfigurationError(
                "no shop of the shops file receives webhooks; give a Shopify or Shoplazza shop "
                "webhook_secret_env (the variable holding its app's client secret)"
            )
        return webhook_states(
            shops,
            lambda shop: webhook_subscriptions(shop, self.environ),
            self.ledger.notice_summary(),
            register_at=register_at,
        )

    def close(self) -> None:
        if "ledger" in self.__dict__:
            self.ledger.close()

    def __enter__(self) -> Wiring:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Wiring"]
