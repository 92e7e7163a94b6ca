"""Secrets never leave the process: one scrubber, every kind of credential, every exit."""

from __future__ import annotations

import io
import logging

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


def test_log_records_are_scrubbed_arguments_and_tracebacks_included() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubbingFilter())
    logger = logging.getLogger("test.scrub")
    logger.addHandler(handler)
    try:
        logger.warning("shop answered %s", "Authorization: Bearer abcdefghijklmnop")
        try:
            raise RuntimeError("X-Shopify-Access-Token: shpat_0123456789abcdef")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
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
