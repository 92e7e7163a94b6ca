"""Notifications kept until sent: at least once, the same news once.

Each piece of news has a key (a broken shop since a moment, a reconciliation's day, a digest's
period): the first process of a fleet to keep it wins, the others find it kept. A notification
that cannot be sent (a mail server down) stays, its error and next try recorded, and is sent
when it can; nothing is deleted unsent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from pipeline.ledger.base import LedgerBase
from pipeline.ledger.schema import failures, notifications

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)


@dataclass(frozen=True)
class Notification:
    key: str
    route: str
    kind: str
    subject: str
    body: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class KeptNotification(Notification):
    id: int
    created_at: str
    tries: int
    last_error: str | None
    sent_at: str | None
    next_try_at: str


def _kept(row: Any) -> KeptNotification:
    return KeptNotification(
        key=row["key"], route=row["route"], kind=row["kind"], subject=row["subject"],
        body=row["body"], facts=json.loads(row["facts"] or "{}"), id=row["id"],
        created_at=row["created_at"], tries=row["tries"], last_error=row["last_error"],
        sent_at=row["sent_at"], next_try_at=row["next_try_at"],
    )  # fmt: skip


class NotificationLog(LedgerBase):
    def keep_notification(self, note: Notification) -> bool:
        """Keep a notification to send; False when the same news was kept already."""
        now = self.now_iso()
        statement = (
            self._insert(notifications)
            .values(
                key=note.key,
                route=note.route,
                kind=note.kind,
                subject=note.subject,
                body=note.body,
                facts=json.dumps(note.facts),
                created_at=now,
                next_try_at=now,
            )  # fmt: skip
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(notifications.c.id)
        )
        return bool(self._write_rows(statement))

    def notifications_due(self, limit: int = 50) -> list[KeptNotification]:
        rows = self._read(
            select(notifications)
            .where(notifications.c.sent_at.is_(None), notifications.c.next_try_at <= self.now_iso())
            .order_by(notifications.c.id)
            .limit(limit)
        )
        return [_kept(row) for row in rows]

    def notification_sent(self, note_id: int) -> None:
        self._write(
            update(notifications)
            .where(notifications.c.id == note_id)
            .values(sent_at=self.now_iso())
        )

    def notification_failed(self, note_id: int, error: str, tries: int) -> None:
        """Kept for the next try: a minute, doubling to an hour."""
        wait = min(FIRST_RETRY * (2 ** min(tries, 10)), LONGEST_RETRY)
        self._write(
            update(notifications)
            .where(notifications.c.id == note_id)
            .values(
                tries=tries + 1,
                last_error=error[:500],
                next_try_at=(self.clock() + wait).isoformat(),
            )
        )

    def recent_notifications(self, limit: int = 100) -> list[KeptNotification]:
        rows = self._read(select(notifications).order_by(notifications.c.id.desc()).limit(limit))
        return [_kept(row) for row in rows]

    def last_notification(self, route: str, kind: str) -> KeptNotification | None:
        rows = self._read(
            select(notifications)
            .where(notifications.c.route == route, notifications.c.kind == kind)
            .order_by(notifications.c.id.desc())
            .limit(1)
        )
        return _kept(rows[0]) if rows else None

    def notification_counts(self) -> tuple[int, int]:
        """(waiting to be sent, sent)."""
        rows = self._read(
            select(
                func.count().filter(notifications.c.sent_at.is_(None)).label("waiting"),
                func.count().filter(notifications.c.sent_at.is_not(None)).label("sent"),
            )
        )
        return int(rows[0]["waiting"] or 0), int(rows[0]["sent"] or 0)

    # -- what a digest reports, from the failures' facts ----------------------------------

    def failure_news(self, since: datetime, until: datetime) -> dict[str, Any]:
        """New failures (first attempted in the period) and those resolved in it, by shop and
        error code, with the three latest messages of each new group; and what is still open,
        with its oldest first attempt."""
        lo, hi = since.isoformat(), until.isoformat()
        group = (failures.c.shop, failures.c.error_code)
        new = self._read(
            select(*group, func.count().label("n"))
            .where(failures.c.first_attempt_at > lo, failures.c.first_attempt_at <= hi)
            .group_by(*group)
        )
        examples: dict[tuple[str, str], list[str]] = {}
        for row in new[:50]:
            latest = self._read(
                select(failures.c.name, failures.c.last_error)
                .where(
                    failures.c.shop == row["shop"],
                    failures.c.error_code == row["error_code"],
                    failures.c.first_attempt_at > lo,
                    failures.c.first_attempt_at <= hi,
                )
                .order_by(failures.c.first_attempt_at.desc())
                .limit(3)
            )
            examples[(row["shop"], row["error_code"])] = [
                f"{r['name']}: {r['last_error']}" for r in latest
            ]
        resolved = self._read(
            select(*group, func.count().label("n"))
            .where(failures.c.resolved_at > lo, failures.c.resolved_at <= hi)
            .group_by(*group)
        )
        still_open = self._read(
            select(
                *group,
                func.count().label("n"),
                func.min(failures.c.first_attempt_at).label("oldest"),
            )
            .where(failures.c.resolved_at.is_(None))
            .group_by(*group)
        )
        return {
            "new": [
                {"shop": r["shop"], "errorCode": r["error_code"], "count": int(r["n"]),
                 "examples": examples.get((r["shop"], r["error_code"]), [])}
                for r in new
            ],
            "resolved": [
                {"shop": r["shop"], "errorCode": r["error_code"], "count": int(r["n"])}
                for r in resolved
            ],
            "open": [
                {"shop": r["shop"], "errorCode": r["error_code"], "count": int(r["n"]),
                 "oldest": r["oldest"]}
                for r in still_open
            ],
        }  # fmt: skip


__all__ = ["KeptNotification", "Notification", "NotificationLog"]
