"""Delivering a message to destination URLs, through apprise.

apprise rather than our own SMTP and webhook clients: one library speaks e-mail (SMTP and
SMTPS), Slack, Microsoft Teams, Discord, PagerDuty, Opsgenie, Telegram, ntfy, generic JSON and
form webhooks and a hundred more, each by a URL whose credentials stay in the environment; it is
maintained, BSD-licensed and has no mandatory native dependency. What it logs while it fails is
captured and scrubbed, so a caller learns why a message did not go, never a password.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from pipeline.scrub import scrub


@dataclass(frozen=True)
class Sent:
    """What became of one message: delivered to every URL, or why not."""

    ok: bool
    detail: str = ""


def scheme_of(url: str) -> str:
    """A destination named without its secrets (``mailtos``, ``slack``, ``json``)."""
    return urlsplit(url).scheme or "?"


class AppriseDelivery:
    def __init__(self, timeout_seconds: float = 15.0) -> None:
        self.timeout_seconds = timeout_seconds

    def check(self, urls: Sequence[str]) -> list[str]:
        """The URLs apprise does not know, by scheme only (they may carry credentials)."""
        import apprise  # here: commands that send nothing do not load it (its plugins)

        unknown = []
        for url in urls:
            if not apprise.Apprise().add(url):
                unknown.append(scheme_of(url))
        return unknown

    def send(self, urls: Sequence[str], subject: str, body: str) -> Sent:
        unknown = self.check(urls)
        if unknown:
            return Sent(False, f"not a destination apprise knows: {', '.join(unknown)}://…")
        import apprise

        sender = apprise.Apprise()
        for url in urls:
            sender.add(url)
        with apprise.LogCapture(level=logging.WARNING) as captured:
            ok = bool(sender.notify(title=subject, body=body))
            said = captured.getvalue().strip()
        return Sent(ok, scrub(said.splitlines()[-1] if said else ("" if ok else "not sent")))


__all__ = ["AppriseDelivery", "Sent", "scheme_of"]
