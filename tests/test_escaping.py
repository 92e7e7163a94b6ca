"""What leaves the console: only web links, fully encoded path segments, inert CSV cells."""

from __future__ import annotations

import pytest

from pipeline.console.escaping import path_segment, spreadsheet_cell, web_link


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(document.cookie)", " JavaScript:fetch('//evil')", "data:text/html,<b>x",
     "vbscript:msgbox", "//evil.example/x", "/orders/a/b", "", None, 5, "http:///nohost"],
)  # fmt: skip
def test_only_http_and_https_urls_become_links(url: object) -> None:
    assert web_link(url) is None


def test_shop_urls_stay_links() -> None:
    site = "https://hc-demo.myshopify.com/83950764316/orders/e218/authenticate?key="
    assert web_link(site) == site
    assert web_link("http://127.0.0.1:8701/x") == "http://127.0.0.1:8701/x"


@pytest.mark.parametrize(
    ("value", "segment"),
    [("a/b", "a%2Fb"), ("..", "%2E%2E"), (".", "%2E"), ("#1001", "%231001"), ("a b", "a%20b"),
     ("10101011010", "10101011010")],
)  # fmt: skip
def test_path_segments_are_encoded_whole(value: str, segment: str) -> None:
    assert path_segment(value) == segment


@pytest.mark.parametrize(
    "cell", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(1,1)", "\t=1", "\r=1"]
)
def test_formulas_are_neutralised_as_owasp_advises(cell: str) -> None:
    assert spreadsheet_cell(cell) == "'" + cell


def test_ordinary_cells_are_unchanged() -> None:
    assert spreadsheet_cell("10101011010") == "10101011010"
    assert spreadsheet_cell(-3) == -3, "numbers are numbers"
    assert spreadsheet_cell("missing, failed again") == "missing, failed again"
