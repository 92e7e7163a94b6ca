"""Secrets never leave the process: one scrubber, every kind of credential, every exit."""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import logging
import re
from collections.abc import Iterator
from urllib.parse import quote, quote_plus, unquote_plus

import click
import pytest

from pipeline.cli import library_errors
from pipeline.errors import SourceRequestError
from pipeline.scrub import REDACTED, Scrubber, ScrubbingFilter, remember_secrets, scrub


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ('{"errors": "bad", "X-Shopify-Access-Token": "shpat_0123456789abcdef"}', "shpat_0123"),
        ("X-Shopify-Access-Token: shpat_0123456789abcdef", "0123456789abcdef"),
        ("token shpca_ZZZZZZZZ99999999 was revoked", "ZZZZZZZZ99999999"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
        ("sent Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"),
        ("Access-Token: 9f8e7d6c5b4a39281706", "9f8e7d6c5b4a39281706"),
        ('{"access_token": "00Dxx0000001gPL!AQ4AQFz", "expires_in": 1800}', "AQ4AQFz"),
        ("client_secret=s3cr3t-value&grant_type=client_credentials", "s3cr3t-value"),
        ("https://hc.myshopify.com/1/orders/abc/authenticate?key=e218e7d5c77", "e218e7d5c77"),
        ("GET /orders.json?token=abcdef123456&limit=250", "abcdef123456"),
        ("https://admin:hunter2@solr.example.com:8983/solr", "hunter2"),
        ("password: correct-horse-battery", "correct-horse"),
    ],
    ids=["shopify header in json", "shopify header", "shopify prefix", "bearer", "basic",
         "shoplazza header", "sfcc token json", "form secret", "key= in url", "token= in url",
         "url credentials", "password"],
)  # fmt: skip
def test_each_kind_of_credential_is_taken_out(text: str, secret: str) -> None:
    cleaned = Scrubber()(text)
    assert secret not in cleaned
    assert cleaned.strip(), "the rest of the message stays readable"


def test_urls_keep_the_shop_and_order_with_the_key_emptied() -> None:
    url = "https://hc-demo.myshopify.com/83950764316/orders/e218/authenticate?key=e218e7d5"
    assert (
        Scrubber()(url) == "https://hc-demo.myshopify.com/83950764316/orders/e218/authenticate?key="
    )


def test_credentials_this_process_holds_are_taken_out_whatever_their_shape() -> None:
    scrubber = Scrubber(["plain-looking-value-42"])
    assert scrubber("the platform echoed plain-looking-value-42 back") == (
        f"the platform echoed {REDACTED} back"
    )


def test_ordinary_messages_are_left_alone() -> None:
    message = "Order #1001 has no shipping address; fix it in Shopify, then reimport"
    assert Scrubber()(message) == message


@contextlib.contextmanager
def scrubbed_log(name: str) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose handler carries the scrubbing filter, and what it wrote."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubbingFilter())
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def test_log_records_are_scrubbed_arguments_and_tracebacks_included() -> None:
    with scrubbed_log("test.scrub") as (logger, stream):
        logger.warning("shop answered %s", "Authorization: Bearer abcdefghijklmnop")
        try:
            raise RuntimeError("X-Shopify-Access-Token: shpat_0123456789abcdef")
        except RuntimeError:
            logger.exception("failed")
    assert "abcdefghijklmnop" not in stream.getvalue()
    assert "shpat_0123456789abcdef" not in stream.getvalue()
    assert "shop answered" in stream.getvalue()


def test_cli_errors_are_scrubbed() -> None:
    remember_secrets("shop-secret-from-env-77")

    @library_errors
    def command() -> None:
        raise SourceRequestError(
            "hc-demo: HTTP 401 {'errors': 'bad token shop-secret-from-env-77'}", shop="hc-demo"
        )

    with pytest.raises(click.ClickException) as caught:
        command()
    assert "shop-secret-from-env-77" not in caught.value.message
    assert "HTTP 401" in caught.value.message
    assert scrub("shop-secret-from-env-77") == REDACTED


# -- issue 18 B: secrets are redacted, never the word after "token" ------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "check the access token variable named in the shops file",
        "the token endpoint refused the client credentials",
        "a token expired; log in again",
        "Basic authentication is off",
    ],
)
def test_messages_about_tokens_keep_their_words(text: str) -> None:
    assert scrub(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc123def456", "abc123def456"),
        ("sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "eyJhbGciOiJIUzI1NiJ9.e30.sig"),
        ("Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        ("token abcdefghijklmnopqrstuvwxyzABCD", "abcdefghijklmnopqrstuvwxyzABCD"),
    ],
)
def test_credentials_after_those_words_are_still_redacted(text: str, secret: str) -> None:
    assert secret not in scrub(text)


# -- issue 28: a secret this process holds, in every encoding a platform or library prints -----

HELD = "lzsecret-Zq9/+x=é7Kp"  # a held credential with every awkward character
ENCODED = {
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 unpadded": lambda s: base64.b64encode(s.encode()).decode().rstrip("="),
    "url-safe base64": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "url-safe unpadded": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    "basic auth, offset 0": lambda s: base64.b64encode(f"{s}:x".encode()).decode(),
    "basic auth, offset 1": lambda s: base64.b64encode(f"u:{s}".encode()).decode(),
    "basic auth, offset 2": lambda s: base64.b64encode(f"us:{s}!".encode()).decode(),
    "percent-encoded": lambda s: quote(s, safe=""),
    "form-encoded": lambda s: quote_plus(s),
    "hex": lambda s: s.encode().hex(),
    "HEX": lambda s: s.encode().hex().upper(),
    "JSON": lambda s: json.dumps({"t": s}),
    "JSON ascii": lambda s: json.dumps({"t": s}, ensure_ascii=True),
    "JSON slashes": lambda s: json.dumps(s).replace("/", "\\/"),
}


def recoverable(text: str) -> bool:
    """Whether the held secret can be read back from ``text`` by undoing any of the encodings."""
    pieces = re.split(r"\[redacted\]|[\s\"'{}:,]+", text)
    for piece in pieces:
        for undo in (
            lambda p: base64.b64decode(p + "=" * (-len(p) % 4)).decode("utf-8", "ignore"),
            lambda p: base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).decode("utf-8", "ignore"),
            lambda p: bytes.fromhex(p).decode("utf-8", "ignore"),
            unquote_plus,
            lambda p: json.loads(f'"{p}"'),
        ):
            try:
                if HELD in undo(piece):
                    return True
            except (ValueError, binascii.Error):
                continue
    return HELD in text


@pytest.mark.parametrize("encoding", list(ENCODED))
def test_a_held_secret_is_taken_out_in_every_encoding(encoding: str) -> None:
    scrubber = Scrubber([HELD])
    body = f"HTTP 401 from the platform: {{'echo': '{ENCODED[encoding](HELD)}'}} try again"
    assert recoverable(body), "the test's own decoder finds it before scrubbing"
    cleaned = scrubber(body)
    assert not recoverable(cleaned), cleaned
    assert cleaned.startswith("HTTP 401 from the platform"), "the message stays readable"


SINKS = ["cli", "log", "solr document", "console notice"]


@pytest.mark.parametrize("encoding", list(ENCODED))
@pytest.mark.parametrize("sink", SINKS)
def test_every_sink_scrubs_every_encoding(sink: str, encoding: str) -> None:
    remember_secrets(HELD)
    body = f"the platform answered {ENCODED[encoding](HELD)}"
    if sink == "cli":

        @library_errors
        def command() -> None:
            raise SourceRequestError(body, shop="s")

        with pytest.raises(click.ClickException) as caught:
            command()
        shown = caught.value.message
    elif sink == "log":
        with scrubbed_log("test.scrub.sinks") as (logger, stream):
            logger.warning("import failed: %s", body)
        shown = stream.getvalue()
    elif sink == "solr document":
        from datetime import UTC, datetime
        from zoneinfo import ZoneInfo

        from pipeline.documents import failure_document
        from pipeline.models import ErrorCode, FailedAttempt, Platform

        now = datetime.now(UTC)
        attempt = FailedAttempt(
            platform=Platform.SHOPIFY, shop="s", order_id="1", order_name="#1",
            order_created_at=now, attempted_at=now, error_message=body,
            error_code=ErrorCode.PLATFORM_ERROR,
        )  # fmt: skip
        document = failure_document(attempt, ttl="+60DAYS", zone=ZoneInfo("UTC"), version=1)
        shown = json.dumps(document)
    else:
        from pipeline.console.pages import Console

        class Failing:
            def __call__(self, name: str) -> None:
                raise SourceRequestError(body, shop=name)

        deps = type("Deps", (), {"shop_context": Failing()})()
        page = Console.__new__(Console)
        page.deps = deps  # type: ignore[attr-defined]
        shown = str(page.act("reimport", "s", "1")["detail"])
    assert not recoverable(shown), (sink, shown)
