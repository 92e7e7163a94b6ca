"""Shop leases: one worker at a time per shop, across processes and machines.

A worker takes a shop's lease for a few tens of seconds and renews it page after page. A lease
whose holder died or hangs (killed, partitioned, SIGSTOPped) expires and another worker takes
the shop over; its ``token`` then grows by one. Every write a worker makes for a shop (orders,
failures, checkpoint) checks, in the first statement of the same transaction, that it still
holds the lease with its token, so a stale worker that wakes up writes nothing (a fencing token).

Clocks: expiry is compared with the writing worker's clock in UTC; keep the machines' clocks
synchronised (NTP) well within the lease duration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    cast,
    column,
    func,
    literal,
    null,
    or_,
    select,
    table,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from pipeline.errors import LeaseLostError
from pipeline.ledger.base import LedgerBase
from pipeline.ledger.schema import shop_leases, worker_presence

SHARES_BELL = "loginsights_workers"  # a worker joined, left or handed shops over
LIFE_LOCKS = 0x4C494C4B  # the advisory locks' first key: workers' life locks (pipeline.life_lock)


@dataclass(frozen=True)
class Lease:
    shop: str
    worker: str
    token: int
    expires_at: datetime


@dataclass(frozen=True)
class WorkerPresence:
    """One worker as the others see it: alive since when, its share and its load."""

    worker: str
    started_at: datetime
    seen_at: datetime
    shops_held: int
    target: int
    passes_per_minute: float = 0.0
    notices_per_minute: float = 0.0
    cpu_share: float = 0.0
    shops_key: str = ""  # which shops it works: shares are counted among the same key
    alive_lock: int | None = None  # its life lock's key, while held (pipeline.life_lock)


@dataclass(frozen=True)
class HeldElsewhere:
    """Another worker holds the shop until ``until`` (unless it renews): ask again then."""

    shop: str
    until: datetime


class ShopLeases(LedgerBase):
    def acquire_lease(
        self, shop: str, worker: str, *, duration: timedelta, now: datetime | None = None
    ) -> Lease | HeldElsewhere:
        """Take the shop if nobody holds it (or its lease expired, or it is ours already); else
        say until when its holder has it."""
        return self.acquire_leases([shop], worker, duration=duration, now=now)[shop]

    def acquire_leases(
        self,
        shops: Sequence[str],
        worker: str,
        *,
        duration: timedelta,
        now: datetime | None = None,
    ) -> dict[str, Lease | HeldElsewhere]:
        """``acquire_lease`` for several shops: one statement on PostgreSQL, whatever their
        number (a worker asks for all the shops due at once)."""
        moment = now or self.clock()
        expires = moment + duration
        shops = list(dict.fromkeys(shops))
        if not shops:
            return {}
        insert = sqlite_insert if self.is_sqlite else postgresql_insert
        values = {"worker": worker, "token": 1, "expires_at": _iso(expires)}
        statement = insert(shop_leases).values(
            [{"shop": shop, **values, "heartbeat_at": _iso(moment)} for shop in shops]
        )
        upsert = statement.on_conflict_do_update(
            index_elements=["shop"],
            set_={
                "worker": statement.excluded.worker,
                "token": shop_leases.c.token + 1,
                "expires_at": statement.excluded.expires_at,
                "heartbeat_at": statement.excluded.heartbeat_at,
            },
            where=or_(shop_leases.c.expires_at < _iso(moment), shop_leases.c.worker == worker),
        ).returning(shop_leases.c.shop, shop_leases.c.token)
        holders = select(shop_leases.c.shop, shop_leases.c.expires_at)
        if self.is_sqlite:
            with self._transaction() as db:
                tokens = {row.shop: row.token for row in db.execute(upsert)}
                refused = [shop for shop in shops if shop not in tokens]
                held = dict(db.execute(holders.where(shop_leases.c.shop.in_(refused))).all())
        else:
            # the holders' expiries are read in the statement's snapshot: as they were, for the
            # shops it did not take
            taken = upsert.cte("taken")
            rows = self._write_rows(
                select(taken.c.shop, taken.c.token, null().label("until")).union_all(
                    select(shop_leases.c.shop, null(), shop_leases.c.expires_at).where(
                        shop_leases.c.shop.in_(shops),
                        shop_leases.c.shop.not_in(select(taken.c.shop)),
                    )
                )
            )
            tokens = {row["shop"]: row["token"] for row in rows if row["token"] is not None}
            held = {row["shop"]: row["until"] for row in rows if row["token"] is None}
        answers: dict[str, Lease | HeldElsewhere] = {}
        for shop in shops:
            if shop in tokens:
                answers[shop] = Lease(shop, worker, int(tokens[shop]), expires)
            else:
                until = held.get(shop)
                answers[shop] = HeldElsewhere(
                    shop, datetime.fromisoformat(until) if until else moment
                )
        return answers

    def renew_lease(
        self, lease: Lease, *, duration: timedelta, now: datetime | None = None
    ) -> Lease:
        """Extend a lease still held; ``LeaseLostError`` if another worker took the shop."""
        moment = now or self.clock()
        expires = moment + duration
        renewed = self._write(
            update(shop_leases)
            .where(*_held(lease))
            .values(expires_at=_iso(expires), heartbeat_at=_iso(moment))
        )
        if not renewed:
            raise _lost(lease)
        return Lease(lease.shop, lease.worker, lease.token, expires)

    def renew_leases(
        self, leases: Sequence[Lease], *, duration: timedelta, now: datetime | None = None
    ) -> list[Lease]:
        """A worker's heartbeat: every lease it still holds extended in one statement; those
        not returned were taken over."""
        if not leases:
            return []
        moment = now or self.clock()
        expires = moment + duration
        mine = tuple_(shop_leases.c.shop, shop_leases.c.token).in_(
            [(lease.shop, lease.token) for lease in leases]
        )
        rows = self._write_rows(
            update(shop_leases)
            .where(shop_leases.c.worker == leases[0].worker, mine)
            .values(expires_at=_iso(expires), heartbeat_at=_iso(moment))
            .returning(shop_leases.c.shop)
        )
        renewed = {row["shop"] for row in rows}
        return [replace(lease, expires_at=expires) for lease in leases if lease.shop in renewed]

    def release_lease(self, lease: Lease) -> None:
        """Let the shop go now; the row stays, so the next holder's token is larger still."""
        self._write(update(shop_leases).where(*_held(lease)).values(expires_at=_RELEASED))

    def leases(self, *, now: datetime | None = None) -> list[RowMapping]:
        """The leases held right now, by shop."""
        moment = _iso(now or self.clock())
        return self._read(
            select(shop_leases)
            .where(shop_leases.c.expires_at > moment)
            .order_by(shop_leases.c.shop)
        )

    # -- presence: who is alive, and its share -----------------------------------------------

    def worker_present(self, presence: WorkerPresence, *, duration: timedelta) -> None:
        """A worker's heartbeat: alive until ``duration`` from its last one, with its load."""
        now = presence.seen_at
        values = {
            "worker": presence.worker, "started_at": _iso(presence.started_at),
            "seen_at": _iso(now), "expires_at": _iso(now + duration),
            "shops_held": presence.shops_held, "target": presence.target,
            "passes_per_minute": presence.passes_per_minute,
            "notices_per_minute": presence.notices_per_minute, "cpu_share": presence.cpu_share,
            "shops_key": presence.shops_key, "alive_lock": presence.alive_lock,
        }  # fmt: skip
        changed = [name for name in values if name not in ("worker", "started_at")]
        with self._transaction() as db:
            self._upsert(db, worker_presence, values, keys=("worker",), update=changed)

    def live_workers(self, *, now: datetime) -> list[RowMapping]:
        """The workers whose heartbeat has not lapsed, by name."""
        return self._read(
            select(worker_presence)
            .where(worker_presence.c.expires_at > _iso(now))
            .order_by(worker_presence.c.worker)
        )

    def break_dead_leases(self, *, now: datetime, observer: str) -> list[str]:
        """The present workers whose life lock is free (PostgreSQL ended their session: killed,
        crashed): their presence is ended and their leases freed now, not when they lapse.

        Only workers that hold such a lock say so (``alive_lock``); SQLite has none."""
        if self.is_sqlite:
            return []
        presence = worker_presence.c
        held = select(literal(1)).where(
            _LOCKS.c.locktype == "advisory",
            _LOCKS.c.granted,
            _LOCKS.c.database == _THIS_DATABASE,
            cast(_LOCKS.c.classid, BigInteger) == LIFE_LOCKS,
            cast(_LOCKS.c.objid, BigInteger) == presence.alive_lock,
            _LOCKS.c.objsubid == 2,  # a lock taken with two keys
        )
        moment = _iso(now)
        with self._transaction() as db:
            dead = list(
                db.execute(
                    select(presence.worker)
                    .where(
                        presence.alive_lock.is_not(None),
                        presence.expires_at > moment,
                        presence.worker != observer,
                        ~held.exists(),
                    )
                    .with_for_update(skip_locked=True)  # one observer breaks them, not each
                ).scalars()
            )
            if dead:
                db.execute(
                    update(worker_presence)
                    .where(presence.worker.in_(dead))
                    .values(expires_at=_RELEASED)
                )
                db.execute(
                    update(shop_leases)
                    .where(shop_leases.c.worker.in_(dead), shop_leases.c.expires_at > moment)
                    .values(expires_at=_RELEASED)
                )
        return dead

    def worker_gone(self, worker: str) -> None:
        """A worker stopping says so: the others take their larger share at once."""
        self._write(
            update(worker_presence)
            .where(worker_presence.c.worker == worker)
            .values(expires_at=_RELEASED)
        )

    def ring_workers(self, worker: str) -> None:
        """Tell every listening worker the shares moved (PostgreSQL; SQLite has one process)."""
        if not self.is_sqlite:
            self._write(select(func.pg_notify(SHARES_BELL, worker)))

    def check_lease(self, lease: Lease) -> None:
        """Raise ``LeaseLostError`` unless the lease is still held (a read, outside a write)."""
        if not self._read(select(shop_leases.c.token).where(*_held(lease))):
            raise _lost(lease)

    def _read_fenced(self, db: Connection, query: Select[Any], lease: Lease | None) -> list[Any]:
        """The first read of a write, carrying the lease check: one statement, not two.

        The lease's row is read ``FOR SHARE`` in the same statement on PostgreSQL, so a worker
        taking the shop over (an UPDATE of that row) waits until this transaction ends: nothing
        this worker writes after losing its lease can commit. ``LeaseLostError`` if not held."""
        if lease is None:
            return list(db.execute(query))
        fence = select(shop_leases.c.token.label("fence_token")).where(*_held(lease))
        if not self.is_sqlite:
            fence = fence.with_for_update(read=True)
        held = fence.subquery("fence")
        found = query.add_columns(literal(1).label("fence_found")).subquery("found")
        rows = db.execute(
            select(found).select_from(held.outerjoin(found, true())).add_columns(held.c.fence_token)
        ).all()
        if not rows:
            raise _lost(lease)
        return [row for row in rows if row.fence_found is not None]


def held_by(lease: Lease) -> tuple[ColumnElement[bool], ...]:
    """The lease's row, while this worker still holds it with this token."""
    return _held(lease)


def _held(lease: Lease) -> tuple[ColumnElement[bool], ...]:
    return (
        shop_leases.c.shop == lease.shop,
        shop_leases.c.worker == lease.worker,
        shop_leases.c.token == lease.token,
    )


def _lost(lease: Lease) -> LeaseLostError:
    return LeaseLostError(
        f"{lease.shop}: worker {lease.worker} no longer holds the shop's lease (another worker "
        "took it over after it expired); this worker wrote nothing more for it",
        shop=lease.shop,
    )


_RELEASED = "1970-01-01T00:00:00+00:00"
_LOCKS = table(
    "pg_locks",
    *(column(name) for name in ("locktype", "database", "classid", "objid", "objsubid")),
    column("granted", Boolean),
)
_THIS_DATABASE = (
    select(column("oid"))
    .select_from(table("pg_database"))
    .where(column("datname") == func.current_database())
    .scalar_subquery()
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


__all__ = ["LIFE_LOCKS", "SHARES_BELL", "HeldElsewhere", "Lease", "ShopLeases", "WorkerPresence"]
