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

from pipeline.errors import RefusedQueryError
from pipeline.search.params import (
    SAFE_LOCAL_PARAMS,
    SAFE_PARSERS,
    SAFE_TRANSFORMERS,
    Kind,
    param_kind,
    why_refused,
)

LOCAL_PARAMS_START = re.compile(r"\{\s*!")  # Solr wants "{!"; a space in between is refused too
TRANSFORMER = re.compile(r"\[\s*([A-Za-z_][\w.-]*)")
UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
REFERENCE = re.compile(r"\$([A-Za-z_][\w.]*)")
MAX_NESTING = 12
MAX_BRACKET_DEPTH = 40
MAX_TRANSFORMERS = 10  # [value …] repeated 500 times made one request answer 200 MB
# Function queries cost per document: strdist over a 20,000-character argument took seconds of
# Solr's CPU per facet query. Their text and each quoted argument are bounded, and an argument
# may not be a $reference (whose value the function would read unbounded).
FUNCTION_PARSERS = frozenset({"func", "frange", "boost"})
FUNCTION_PLACES = frozenset({"bf", "boost", "sort"})
MAX_FUNCTION_CHARS = 1024
MAX_FUNCTION_ARGUMENT = 256
QUOTED = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)'")


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
    names = TRANSFORMER.findall(_as_solr_reads(text))
    if len(names) > MAX_TRANSFORMERS:
        raise RefusedQueryError(
            f"{where} asks for {len(names)} document transformers, more than "
            f"{MAX_TRANSFORMERS}; ask for the fields themselves",
            key=where,
        )
    for name in names:
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
        if param_kind(name) is not Kind.QUERY:
            raise RefusedQueryError(
                f"{where} refers to parameter ${name}; a reference may only name a query "
                "parameter this API serves (q, fq, ...): write the value itself",
                key=f"${name}",
            )
    # Read as written (quotes keep their escapes) and with every backslash removed (as the
    # escaped forms above may be read): both readings must be allowed.
    functions = where.rsplit(".", 1)[-1] in FUNCTION_PLACES or (
        where.endswith(("fl", "fields")) and "(" in plain
    )
    for reading in dict.fromkeys((_decoded(text), plain)):
        for params in local_params(reading, where):
            _allowed_local_params(params, where)
            functions |= any(  # the bare first word, or type=
                (value is None and key in FUNCTION_PARSERS)
                or (key == "type" and value in FUNCTION_PARSERS)
                for key, value in params
            )
    if functions:
        _bounded_function(plain, where)
    if _bracket_depth(plain) > MAX_BRACKET_DEPTH:
        raise RefusedQueryError(
            f"{where} nests brackets more than {MAX_BRACKET_DEPTH} deep; simplify the query",
            key=where,
        )


def _bounded_function(text: str, where: str) -> None:
    if len(text) > MAX_FUNCTION_CHARS:
        raise RefusedQueryError(
            f"{where} is a function query of {len(text)} characters, more than "
            f"{MAX_FUNCTION_CHARS}; functions run for every document: keep them short",
            key=where,
        )
    for match in QUOTED.finditer(text):
        argument = match.group(1) if match.group(1) is not None else match.group(2)
        if len(argument) > MAX_FUNCTION_ARGUMENT:
            raise RefusedQueryError(
                f"{where} gives a function an argument of {len(argument)} characters, more "
                f"than {MAX_FUNCTION_ARGUMENT}; functions run for every document",
                key=where,
            )
    if REFERENCE.search(text):
        raise RefusedQueryError(
            f"{where} gives a function a $reference; write the (short) value itself",
            key=where,
        )


def local_params(text: str, where: str) -> list[list[tuple[str, str | None]]]:
    """Every ``{!…}`` of the text, read as Solr's ``QueryParsing.parseLocalParams`` reads it.

    Solr's grammar: after ``{!``, whitespace-separated ``key=value`` pairs up to ``}``, where a
    value is quoted (``'…'`` or ``"…"``, backslash escapes inside) or runs to the next
    whitespace or ``}``, and a bare first word is the parser's name (``type``). A ``}`` inside
    quotes ends nothing. Whatever this cannot read, Solr would read in some way of its own, so
    it is refused rather than guessed at.
    """
    found = []
    start = LOCAL_PARAMS_START.search(text)
    while start is not None:
        params, _ = _read_local_params(text, start.end(), where)
        found.append(params)
        # on from the next character, not past the end: a {! inside a quoted value (such as
        # v='{!join …}', which the outer parser reads as a query) is read as well
        start = LOCAL_PARAMS_START.search(text, start.start() + 1)
    return found


def _read_local_params(text: str, at: int, where: str) -> tuple[list[tuple[str, str | None]], int]:
    params: list[tuple[str, str | None]] = []
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            _unreadable(where, "local params {!… without their closing }")
        if text[at] == "}":
            return params, at + 1
        key_start = at
        while at < len(text) and (text[at].isalnum() or text[at] in "._-"):
            at += 1
        key = text[key_start:at]
        if not key:
            _unreadable(where, f"local params with {text[at]!r} where a name belongs")
        if at < len(text) and text[at] == "=":
            value, at = _read_value(text, at + 1, where)
            params.append((key, value))
        else:
            params.append((key, None))


def _read_value(text: str, at: int, where: str) -> tuple[str, int]:
    if at < len(text) and text[at] in "'\"":
        quote, at, chars = text[at], at + 1, []
        while at < len(text) and text[at] != quote:
            if text[at] == "\\" and at + 1 < len(text):
                at += 1
            chars.append(text[at])
            at += 1
        if at >= len(text):
            _unreadable(where, "a quoted local param value without its closing quote")
        return "".join(chars), at + 1
    start = at
    while at < len(text) and not text[at].isspace() and text[at] != "}":
        at += 1
    if at >= len(text):
        _unreadable(where, "local params {!… without their closing }")
    return text[start:at], at


def _allowed_local_params(params: list[tuple[str, str | None]], where: str) -> None:
    bare = [name for name, value in params if value is None]
    if len(bare) > 1 or (bare and params[0][1] is not None):
        _unreadable(where, f"local params with more than a parser's name unpaired ({bare})")
    parser = bare[0] if bare else "lucene"
    named = [value for name, value in params if name == "type"]
    if len(named) > 1 or (named and bare):
        _unreadable(where, "local params naming their parser twice")
    if named:
        parser = str(named[0])
    if parser.startswith("$"):
        _unreadable(where, f"a parser named by reference ({parser})")
    if parser not in SAFE_PARSERS:
        raise RefusedQueryError(
            f"local params {{!{parser} …}} in {where} are not allowed; use one of "
            f"{sorted(SAFE_PARSERS)}",
            key=f"{{!{parser}}}",
        )
    for name, _ in params:
        if name != parser and name not in SAFE_LOCAL_PARAMS:
            raise RefusedQueryError(
                f"local param {name!r} in {where} is not allowed ({why_refused(name)}); remove it",
                key=name,
            )


def _unreadable(where: str, what: str) -> NoReturn:
    raise RefusedQueryError(
        f"{where} holds {what}, which Solr would read its own way; write plain local params "
        "such as {!edismax qf=errorMessage}",
        key=where,
    )


def refuse_name(key: str) -> NoReturn:
    raise RefusedQueryError(
        f"parameter {key!r} is not allowed: {why_refused(key)}; remove it (only searching "
        "this core is served)",
        key=key,
    )


def _decoded(text: str) -> str:
    """Percent-decoded as often as it takes (so double encoding hides nothing), ``\\uXXXX``
    undone; backslashes kept."""
    decoded = text
    for _ in range(4):
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    return UNICODE_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), decoded)


def _as_solr_reads(text: str) -> str:
    """The text as Solr's parsers may end up reading it: decoded, escapes undone."""
    return _decoded(text).replace("\\", "")


def _bracket_depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth = max(0, depth - 1)
    return deepest


__all__ = ["check_fields", "check_text", "check_well_formed", "local_params", "refuse_name"]
