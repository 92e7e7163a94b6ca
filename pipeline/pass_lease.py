"""One pass's hold on its shop: the lease the holdings handed it, renewed as the pass goes."""

from __future__ import annotations

import logging
from datetime import timedelta

from pipeline.errors import RetryLaterError, SkipError, StopError
from pipeline.ledger import Lease, Ledger
from pipeline.windows import Clock

log = logging.getLogger(__name__)


class PassLease:
    """One pass's hold on a shop: renewed (when a third of it has passed) page after page, so a
    long catch-up keeps its shop even when the heartbeat is late; released if the pass fails."""

    def __init__(self, lease: Lease, ledger: Ledger, duration: timedelta, clock: Clock) -> None:
        self.lease: Lease | None = lease
        self.ledger, self.duration, self.clock = ledger, duration, clock

    def renew(self) -> None:
        """Raises ``LeaseLostError`` if another worker took the shop meanwhile."""
        if self.lease is None:
            return
        left = (self.lease.expires_at - self.clock()).total_seconds()
        if left < self.duration.total_seconds() * 2 / 3:
            self.lease = self.ledger.renew_lease(
                self.lease, duration=self.duration, now=self.clock()
            )

    def release(self) -> None:
        lease, self.lease = self.lease, None
        if lease is None:
            return
        try:
            self.ledger.release_lease(lease)
        except (RetryLaterError, SkipError, StopError) as err:
            log.warning("%s: lease not released (it expires by itself): %s", lease.shop, err)


__all__ = ["PassLease"]
