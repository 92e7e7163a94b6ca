"""What leaves the console safely and alike: links only to web pages, path segments fully
encoded, CSV cells that no spreadsheet will run, and times in one format with their zone."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def web_link(url: Any) -> str | None:
    """The URL if it opens a web page (http or https), else None: a ``javascript:`` or
    ``data:`` site from a platform is shown as text, never as a live link."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def path_segment(value: Any) -> str:
    """One URL path segment: ``/``, ``..`` and everything else outside the unreserved set
    percent-encoded (Jinja's ``urlencode`` leaves ``/`` alone)."""
    text = quote(str(value), safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: OWASP's advice for CSV injection, a leading
    quote before anything that starts with =, +, -, @, tab or a line break."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


__all__ = ["path_segment", "spreadsheet_cell", "web_link"]
