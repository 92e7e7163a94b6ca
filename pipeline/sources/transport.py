"""HTTP to shop platforms: the whole retry policy, as one table (after Airbyte's error mapping).

    status or exception        action
    connection error, timeout  retry with exponential backoff
    429                        wait what Retry-After says (capped), then retry
    503 + sfdc_load_status: THROTTLE   the same as a 429 (SFCC shedding load)
    500, 502, 503, 504, 5xx    retry with exponential backoff
    401                        refresh the credentials once (platforms with expiring tokens),
                               otherwise fail
    other 4xx                  fail at once with the platform's message

Connectors never loop on errors themselves: they call ``get_json`` and get data or one of
``SourceUnavailableError`` (retries exhausted; the window is tried again later) or
``SourceRequestError`` (fix the configuration). Credentials travel in headers only, so no
error message or log line can carry them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import orjson
import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from pipeline.errors import SourceRequestError, SourceUnavailableError
from pipeline.sources.pacing import SFCC_LOAD_STATUS, CallBudget

T = TypeVar("T")


class Action(Enum):
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    REFRESH_AUTH = "refresh_auth"
    FAIL = "fail"


SOURCE_RETRY_POLICY: dict[int | type[Exception], Action] = {
    requests.ConnectionError: Action.RETRY,
    requests.Timeout: Action.RETRY,
    429: Action.RATE_LIMITED,
    500: Action.RETRY,
    502: Action.RETRY,
    503: Action.RETRY,
    504: Action.RETRY,
    401: Action.REFRESH_AUTH,
}


def action_for(status: int, headers: Mapping[str, str] | None = None) -> Action:
    if status == 503 and (headers or {}).get(SFCC_LOAD_STATUS, "").upper() == "THROTTLE":
        return Action.RATE_LIMITED  # SFCC shedding load: back off as for a 429
    if status in SOURCE_RETRY_POLICY:
        return SOURCE_RETRY_POLICY[status]
    return Action.RETRY if status >= 500 else Action.FAIL


class _TryAgain(Exception):
    def __init__(self, reason: str, *, status: int | None, wait_seconds: float | None) -> None:
        super().__init__(reason)
        self.status = status
        self.wait_seconds = wait_seconds


@dataclass
class Auth:
    """Headers that authenticate a call, and how to renew them when the platform says 401."""

    headers: Callable[[], dict[str, str]]
    refresh: Callable[[], None] | None = None


class ShopTransport:
    """GETs JSON from one shop's API under the retry policy above and the platform's budget.

    Credentials travel with each call (``auth=``, as in httpx): the connector knows how its
    platform authenticates, the transport only how to retry, pace and renew on a 401.
    """

    def __init__(
        self,
        shop: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        max_attempts: int = 8,
        max_wait_seconds: float = 30.0,
        backoff_seconds: float = 0.5,
        budget: CallBudget | None = None,
    ) -> None:
        self.shop = shop
        self.budget = budget or CallBudget()
        self.calls = 0
        self.rate_limited = 0  # 429s (and load-shedding 503s) received
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait_seconds = max_wait_seconds
        self._backoff = wait_exponential(multiplier=backoff_seconds, max=max_wait_seconds)

    def get_json(
        self, url: str, params: dict[str, Any] | None = None, *, auth: Auth
    ) -> tuple[Any, requests.Response]:
        """The decoded body and the response (for paging headers)."""
        return self._call("GET", url, auth, params=params)

    def post_json(
        self, url: str, body: dict[str, Any], *, auth: Auth
    ) -> tuple[Any, requests.Response]:
        """A JSON POST (GraphQL) under the same policy; the decoded answer and the response."""
        return self._call("POST", url, auth, body=body)

    def _call(
        self,
        method: str,
        url: str,
        auth: Auth,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[Any, requests.Response]:
        refreshed = False

        def attempt() -> tuple[Any, requests.Response]:
            nonlocal refreshed
            self.budget.before_call()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=body,
                    headers=auth.headers(),
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as err:
                raise _TryAgain(type(err).__name__, status=None, wait_seconds=None) from err
            self.calls += 1
            self.budget.after_response(response.status_code, response.headers)
            if response.ok:
                return _decode(response, self.shop), response
            action = action_for(response.status_code, response.headers)
            if action is Action.RATE_LIMITED:
                self.rate_limited += 1
            if action is Action.REFRESH_AUTH and auth.refresh is not None and not refreshed:
                refreshed = True
                auth.refresh()
                raise _TryAgain("credentials refreshed", status=401, wait_seconds=0.0)
            if action is Action.RATE_LIMITED:
                raise _TryAgain(
                    "rate limited", status=429, wait_seconds=_retry_after(response, default=1.0)
                )
            if action is Action.RETRY:
                raise _TryAgain(
                    f"HTTP {response.status_code}", status=response.status_code, wait_seconds=None
                )
            raise SourceRequestError(
                f"{self.shop}: the platform refused {_path(url)} with HTTP "
                f"{response.status_code}: {_message(response)}; " + _advice(response.status_code),
                shop=self.shop,
                status=response.status_code,
                url=_path(url),
            )

        return self._retried(
            attempt,
            url,
            f"{_path(url)} kept failing ({{err}}) after {self.max_attempts} tries; the window "
            "stays open and is read again by the next import or pass",
        )

    def post_form(
        self, url: str, data: dict[str, str], *, basic_auth: tuple[str, str]
    ) -> dict[str, Any]:
        """A token request: retried on 5xx and network errors, never on 4xx."""

        def attempt() -> dict[str, Any]:
            try:
                response = self.session.post(url, data=data, auth=basic_auth, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as err:
                raise _TryAgain(type(err).__name__, status=None, wait_seconds=None) from err
            if response.ok:
                body: dict[str, Any] = _decode(response, self.shop)
                return body
            if response.status_code >= 500 or response.status_code == 429:
                raise _TryAgain(
                    f"HTTP {response.status_code}",
                    status=response.status_code,
                    wait_seconds=_retry_after(response, default=None),
                )
            raise SourceRequestError(
                f"{self.shop}: the token endpoint refused the client credentials (HTTP "
                f"{response.status_code}: {_message(response)}); check the client id and secret "
                "variables named in the shops file",
                shop=self.shop,
                status=response.status_code,
                url=_path(url),
            )

        return self._retried(
            attempt, url, "the token endpoint kept failing ({err}); try again later"
        )

    def _retried(self, attempt: Callable[[], T], url: str, giving_up: str) -> T:
        """Run ``attempt`` under the retry policy; when it runs out, say what gave up."""
        retrying = Retrying(
            retry=retry_if_exception_type(_TryAgain),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _TryAgain as err:
            raise SourceUnavailableError(
                f"{self.shop}: " + giving_up.format(err=err),
                shop=self.shop,
                status=err.status,
                url=_path(url),
            ) from err

    def _wait(self, retry_state: Any) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, _TryAgain) and error.wait_seconds is not None:
            return min(error.wait_seconds, self.max_wait_seconds)
        return float(self._backoff(retry_state))


def listed(body: Any, key: str, *, shop: str, url: str) -> list[dict[str, Any]]:
    """The list under ``key`` in a listing response.

    A body without it is an error, never "no orders": reading it as empty would let the window's
    checkpoint move past orders nobody saw.
    """
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, list):
        keys = sorted(body)[:8] if isinstance(body, dict) else type(body).__name__
        raise SourceRequestError(
            f"{shop}: {_path(url)} answered without a {key!r} list (got {keys}); the platform's "
            "API may have changed: check the API version the shops file names, the window is "
            "retried by the next import or pass",
            shop=shop,
            url=_path(url),
        )
    return value


def _retry_after(response: requests.Response, default: float | None) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


def _decode(response: requests.Response, shop: str) -> Any:
    """orjson for speed; the standard parser for what orjson will not read (ints past 64 bits)."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(response.content)
    except ValueError as err:
        raise SourceUnavailableError(
            f"{shop}: {_path(response.url)} answered with a body that is not JSON; "
            "the window stays open and is read again by the next import or pass",
            shop=shop,
            status=response.status_code,
            url=_path(response.url),
        ) from err


def _path(url: str) -> str:
    return url.split("?", 1)[0]


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        for key in ("errors", "error", "detail", "title", "error_description"):
            if body.get(key):
                return str(body[key])[:200]
    return str(body)[:200]


def _advice(status: int) -> str:
    if status in (401, 403):
        return "check the access token variable named in the shops file and its API scopes"
    if status == 404:
        return "check the shop's base_url and the order id"
    return "check the shop's settings in the shops file"


__all__ = ["SOURCE_RETRY_POLICY", "Action", "Auth", "ShopTransport", "action_for", "listed"]
