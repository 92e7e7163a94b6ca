"""The one place secrets are taken out of text that leaves the process.

Platform error bodies, URLs and exception texts can carry credentials: a Shopify access token
echoed back in an error body, an ``Authorization: Bearer …`` header, ``?key=…`` in an order
status URL, ``user:password@`` in a Solr URL. Every exit applies the same ``scrub``: CLI errors,
log records (``ScrubbingFilter``), the ``errorMessage`` of a log document, API error bodies.

Two kinds of rule: patterns that recognise a credential by its shape or its label, and the exact
values of the credentials this process holds (API tokens, each shop's token or client secret),
which the composition root and the shops loader ``remember``, in every encoding a platform or a
library may print them (base64, URL-safe base64, percent-encoding, hex, JSON escapes).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
# Query parameters that carry a secret (Shopify's order_status_url has `key`): emptied in URLs
# (models.redact_url) and in any text (below). The one list of them.
SECRET_PARAMETERS = frozenset(
    {"key", "token", "access_token", "api_key", "apikey", "client_secret", "secret", "password",
     "passwd", "signature", "sig", "code"}
)  # fmt: skip
_SECRET_QUERY_NAMES = "|".join(re.escape(name) for name in sorted(SECRET_PARAMETERS, key=len)[::-1])
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # user:password@host in any URL
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@'\"]+:[^/\s@'\"]*@"), rf"\1{REDACTED}@"),
    # ?key=… &token=… (emptied, as seed 000's site shows key=)
    (re.compile(rf"(?i)([?&;](?:{_SECRET_QUERY_NAMES})=)[^&#\s\"'<>]*"), r"\1"),
    # Bearer …, Basic …, token …: the credential after the word, never an ordinary word after
    # it ("the token variable", "Basic authentication"): it must hold a digit or a sign, or
    # (Bearer) be a long run of letters, or (Basic, base64) mix in capitals
    (
        re.compile(
            r"\b((?i:bearer))(\s+)(?=[A-Za-z]*[0-9._~+/=:-]|[A-Za-z]{16})[A-Za-z0-9._~+/=:-]{6,}"
        ),
        rf"\1\2{REDACTED}",
    ),
    (
        re.compile(r"\b((?i:basic))(\s+)(?=[A-Za-z]*[0-9+/=]|[a-z]+[A-Z])[A-Za-z0-9+/=]{6,}"),
        rf"\1\2{REDACTED}",
    ),
    (
        re.compile(
            r"\b((?i:token))(\s+)(?=[A-Za-z]*[0-9._~+/=:-]|[A-Za-z]{24})[A-Za-z0-9._~+/=:-]{6,}"
        ),
        rf"\1\2{REDACTED}",
    ),
    # "X-Shopify-Access-Token": "…", access_token=…, client_secret: …, password=…
    (
        re.compile(
            r"(?i)([\"']?[\w-]*(?:access[-_]?token|auth[-_]?token|api[-_]?key|secret|password"
            r"|passwd|authorization)[\"']?\s*[:=]\s*[\"']?)(?!\[redacted\])[^\s\"',;&}]+"
        ),
        rf"\1{REDACTED}",
    ),
    # Shopify tokens by their documented prefixes, wherever they stand
    (re.compile(r"\bshp(?:at|ca|pa|ss|ua)_[A-Za-z0-9]{8,}"), REDACTED),
)


def encodings(secret: str) -> set[str]:
    """The forms a secret takes when a platform or a library prints it: as is, base64 (standard
    and URL-safe, padded or not, and the part of it that stays the same wherever the secret sits
    inside a longer encoded text, as in ``Basic base64(user:password)``), percent-encoded, hex,
    and JSON-escaped."""
    raw = secret.encode("utf-8")
    found = {secret, secret.lower() if secret.isupper() else secret}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        found.add(encode(raw).decode())
        found.add(encode(raw).decode().rstrip("="))
        for offset in (1, 2):  # the secret after 1 or 2 other bytes: its stable core
            shifted = encode(b"\0" * offset + raw).decode().rstrip("=")
            core = shifted[(offset * 4 + 2) // 3 + 1 :]
            tail = (len(raw) + offset) % 3
            found.add(core[: len(core) - (1 if tail else 0)])
        tail = len(raw) % 3
        plain = encode(raw).decode().rstrip("=")
        found.add(plain[: len(plain) - (1 if tail else 0)])  # followed by other bytes
    found |= {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    found |= {raw.hex(), raw.hex().upper()}
    escaped = json.dumps(secret)[1:-1]
    found |= {escaped, escaped.replace("/", "\\/"), "".join(f"\\u{ord(c):04x}" for c in secret)}
    return {form for form in found if len(form) >= 6}


class Scrubber:
    """Removes credentials from text; thread-safe, so every worker thread shares one."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        # every form by its first six characters: one dictionary look-up per position of a
        # text finds them all, however many shops' secrets are held (a pattern of thousands
        # of alternatives took milliseconds per message)
        self._by_start: dict[str, tuple[str, ...]] = {}
        self.remember(*secrets)

    def remember(self, *secrets: str) -> None:
        """Credentials this process holds, in every encoding (``encodings``); short values are
        ignored (they would match words)."""
        kept = {form for secret in secrets if secret and len(secret) >= 6
                for form in encodings(secret)}  # fmt: skip
        with self._lock:
            if kept - self._secrets:
                self._secrets = self._secrets | kept
                index: dict[str, list[str]] = {}
                for form in sorted(self._secrets, key=len, reverse=True):
                    index.setdefault(form[:6], []).append(form)
                self._by_start = {start: tuple(forms) for start, forms in index.items()}

    def _held(self, text: str) -> str:
        """``text`` with every held form (the longest at each place) replaced."""
        index = self._by_start
        if not index:
            return text
        kept, position, last = [], 0, len(text) - 5
        while position < last:
            forms = index.get(text[position : position + 6])
            found = (
                next((f for f in forms if text.startswith(f, position)), None) if forms else None
            )
            if found is None:
                position += 1
                continue
            kept += [text[:position], REDACTED]
            text, position, last = (
                text[position + len(found) :],
                0,
                len(text) - position - len(found) - 5,
            )
        return "".join(kept) + text

    def __call__(self, text: str) -> str:
        text = self._held(text)
        for pattern, replacement in PATTERNS:
            text = pattern.sub(replacement, text)
        return text


SCRUBBER = Scrubber()


def scrub(text: str) -> str:
    """``text`` without the credentials this process knows of or can recognise."""
    return SCRUBBER(text)


def remember_secrets(*secrets: str) -> None:
    SCRUBBER.remember(*secrets)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """One line of text whatever it holds: control characters (a newline in a URL path, an
    escape sequence) become visible escapes, so no caller can forge a log line of its own."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode(), text)


class ScrubbingFilter(logging.Filter):
    """Scrubs every record a handler emits, arguments and exception text included, and keeps
    each message on one line (``printable``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        record.msg, record.args = printable(scrub(message)), None
        return True


def scrub_log_handlers(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, ScrubbingFilter) for f in handler.filters):
            handler.addFilter(ScrubbingFilter())


__all__ = [
    "REDACTED",
    "SCRUBBER",
    "SECRET_PARAMETERS",
    "Scrubber",
    "ScrubbingFilter",
    "encodings",
    "printable",
    "remember_secrets",
    "scrub",
    "scrub_log_handlers",
]
