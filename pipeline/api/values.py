"""How Solr will read a value, and whether it may: the checks every string of a request meets.

A value is read the way Solr's parsers may end up reading it (percent-decoded until stable,
Lucene escapes such as ``{\\!`` and ``\\u0021`` undone) before it is looked at: local params may
only name safe parsers and safe keys, ``${…}`` macros, ``_query_`` and ``$name`` references to
unlisted names are refused, brackets may not nest deeper than Solr's stack allows, document
transformers must be harmless ones. The body as a whole must be well formed: finite numbers,
valid Unicode, shallow nesting.
"""

from __future__ import annotations

import math
import re
from typing import Any, NoReturn
from urllib.parse import unquote

from pipeline.api.params import (
    SAFE_LOCAL_PARAMS,
    SAFE_PARSERS,
    SAFE_TRANSFORMERS,
    param_kind,
    why_refused,
)
from pipeline.errors import RefusedQueryError

LOCAL_PARAMS = re.compile(r"\{\s*!([^}]*)\}?")
TRANSFORMER = re.compile(r"\[\s*([A-Za-z_][\w.-]*)")
UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
REFERENCE = re.compile(r"\$([A-Za-z_][\w.]*)")
MAX_NESTING = 12
MAX_BRACKET_DEPTH = 40


def check_well_formed(value: Any, key: str, *, depth: int) -> None:
    """Finite numbers, valid Unicode, shallow nesting: what Solr and JSON can carry safely."""
    if depth > MAX_NESTING:
        raise RefusedQueryError(
            f"{key!r} is nested more than {MAX_NESTING} levels deep; flatten the request",
            key=key,
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise RefusedQueryError(
            f"{key!r} is {value!r}: not a finite number; send a number JSON can hold", key=key
        )
    if isinstance(value, str):
        _valid_unicode(value, key)
    elif isinstance(value, list):
        for item in value:
            check_well_formed(item, key, depth=depth + 1)
    elif isinstance(value, dict):
        for name, item in value.items():
            _valid_unicode(name, key)
            check_well_formed(item, name, depth=depth + 1)


def _valid_unicode(text: str, key: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise RefusedQueryError(
            f"{key!r} holds a lone surrogate ({text[err.start]!r}), which is not text; send "
            "valid UTF-8",
            key=key.encode("utf-8", "replace").decode(),
        ) from err


def check_fields(text: str, where: str) -> None:
    for name in TRANSFORMER.findall(_as_solr_reads(text)):
        if name not in SAFE_TRANSFORMERS:
            raise RefusedQueryError(
                f"document transformer [{name}] in {where} is not allowed; use one of "
                f"{sorted(SAFE_TRANSFORMERS)} or plain field names",
                key=name,
            )
    check_text(text, where)


def check_text(text: str, where: str) -> None:
    """Whatever Solr may parse as a query: no macros, no nested queries, safe local params."""
    plain = _as_solr_reads(text)
    if "${" in plain:
        raise RefusedQueryError(
            f"{where} holds a ${{…}} macro; parameter macros are not expanded here, "
            "write the value itself",
            key=where,
        )
    if "_query_" in plain.lower():
        raise RefusedQueryError(
            f"{where} uses the _query_ nested-query field; write the query directly",
            key="_query_",
        )
    for name in REFERENCE.findall(plain):
        if param_kind(name) is None:
            raise RefusedQueryError(
                f"{where} refers to parameter ${name}, which this API does not serve; "
                "write the value itself",
                key=f"${name}",
            )
    for inside in LOCAL_PARAMS.findall(plain):
        _local_params(inside, where)
    if _bracket_depth(plain) > MAX_BRACKET_DEPTH:
        raise RefusedQueryError(
            f"{where} nests brackets more than {MAX_BRACKET_DEPTH} deep; simplify the query",
            key=where,
        )


def _local_params(inside: str, where: str) -> None:
    words = [word.partition("=") for word in inside.split()]
    parser = "lucene"
    if words and not words[0][1]:
        parser = words.pop(0)[0]
    parser = next((value.strip("'\"") for name, _, value in words if name == "type"), parser)
    if parser not in SAFE_PARSERS:
        raise RefusedQueryError(
            f"local params {{!{parser} …}} in {where} are not allowed; use one of "
            f"{sorted(SAFE_PARSERS)}",
            key=f"{{!{parser}}}",
        )
    for name, _, _ in words:
        if name not in SAFE_LOCAL_PARAMS:
            raise RefusedQueryError(
                f"local param {name!r} in {where} is not allowed ({why_refused(name)}); remove it",
                key=name,
            )


def refuse_name(key: str) -> NoReturn:
    raise RefusedQueryError(
        f"parameter {key!r} is not allowed: {why_refused(key)}; remove it (only searching "
        "this core is served)",
        key=key,
    )


def _as_solr_reads(text: str) -> str:
    """The text as Solr's parsers may end up reading it: percent-decoded (as often as it takes,
    so double encoding hides nothing), escapes undone."""
    decoded = text
    for _ in range(4):
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    decoded = UNICODE_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), decoded)
    return decoded.replace("\\", "")


def _bracket_depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth = max(0, depth - 1)
    return deepest


__all__ = ["check_fields", "check_text", "check_well_formed", "refuse_name"]
