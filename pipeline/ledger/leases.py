"""Shop leases: one worker at a time per shop, across processes and machines.

A worker takes a shop's lease for a few tens of seconds and renews it page after page. A lease
whose holder died or hangs (killed, partitioned, SIGSTOPped) expires and another worker takes
the shop over; its ``token`` then grows by one. Every write a worker makes for a shop (orders,
failures, checkpoint) checks, inside the same transaction, that it still holds the lease with
its token, so a stale worker that wakes up writes nothing (a fencing token).

Clocks: expiry is compared with the writing worker's clock in UTC; keep the machines' clocks
synchronised (NTP) well within the lease duration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, RowMapping, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from pipeline.errors import LeaseLostError
from pipeline.ledger.base import LedgerBase
from pipeline.ledger.schema import shop_leases


@dataclass(frozen=True)
class Lease:
    shop: str
    worker: str
    token: int
    expires_at: datetime


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
        say until when its holder has it. One statement on PostgreSQL."""
        moment = now or self.clock()
        expires = moment + duration
        insert = sqlite_insert if self.is_sqlite else postgresql_insert
        statement = insert(shop_leases).values(
            shop=shop,
            worker=worker,
            token=1,
            expires_at=_iso(expires),
            heartbeat_at=_iso(moment),
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
        )
        holders = select(shop_leases.c.expires_at).where(shop_leases.c.shop == shop)
        if self.is_sqlite:
            with self._transaction() as db:
                token = db.execute(upsert.returning(shop_leases.c.token)).scalar()
                until = None if token is not None else db.execute(holders).scalar()
        else:
            # the holder's expiry is read in the statement's snapshot: as it was, if not taken
            taken = upsert.returning(shop_leases.c.token).cte("taken")
            (row,) = self._write_rows(
                select(
                    select(taken.c.token).scalar_subquery().label("token"),
                    holders.scalar_subquery().label("until"),
                )
            )
            token, until = row["token"], row["until"]
        if token is not None:
            return Lease(shop, worker, int(token), expires)
        return HeldElsewhere(shop, datetime.fromisoformat(until) if until else moment)

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

    def _check_lease(self, db: Connection, lease: Lease | None) -> None:
        """Inside a write: the lease is still ours (row-locked on PostgreSQL until commit)."""
        if lease is None:
            return
        query = select(shop_leases.c.token).where(*_held(lease))
        if not self.is_sqlite:
            query = query.with_for_update()
        if db.execute(query).scalar() is None:
            raise _lost(lease)


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


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


__all__ = ["HeldElsewhere", "Lease", "ShopLeases"]
