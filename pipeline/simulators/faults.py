"""What can go wrong at a simulated shop, and when.

Faults are given per server, in code (tests) or on the command line (``--fault`` options):

    outage:START-END        every API call answers 503 from START to END seconds after start-up
    outage-requests:A-B     list/get calls number A..B (1-based) answer 503 (deterministic tests)
    burst5xx:SHARE          a random SHARE of calls answers 500, 502 or 504
    storm429:START-END      every call answers 429 with Retry-After during that time
    storm429-requests:A-B   calls A..B answer 429 with Retry-After
    latency:SECONDS         every call waits this long before answering
    late:SHARE:SECONDS      a SHARE of orders becomes visible only SECONDS after its creation
    missing-address:SHARE   a SHARE of orders has no shipping address
    missing-phone:SHARE     a SHARE of orders has no phone number anywhere
    bad-email:SHARE         a SHARE of orders has a malformed email
    unicode:SHARE           a SHARE of orders carries non-Latin text and emoji in names and notes
    many-lines:SHARE        a SHARE of orders has 21 to 300 line items (more than one page)
    states:SHARE            a SHARE of orders takes its statuses from every value the platform's
                            published contract allows (absent too, where the field is optional)
    extremes:SHARE          a SHARE of orders has zero prices, zero quantities or no note
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from pipeline.errors import ConfigurationError


class Span(BaseModel):
    start: float
    end: float

    def holds(self, value: float) -> bool:
        return self.start <= value <= self.end


class Faults(BaseModel):
    outages: list[Span] = Field(default_factory=list)
    outage_requests: list[Span] = Field(default_factory=list)
    burst_5xx_share: float = Field(0.0, ge=0, le=1)
    storms_429: list[Span] = Field(default_factory=list)
    storm_429_requests: list[Span] = Field(default_factory=list)
    retry_after_seconds: float = Field(1.0, ge=0)
    latency_seconds: float = Field(0.0, ge=0)
    late_share: float = Field(0.0, ge=0, le=1)
    late_delay_seconds: float = Field(0.0, ge=0)
    missing_address_share: float = Field(0.0, ge=0, le=1)
    missing_phone_share: float = Field(0.0, ge=0, le=1)
    bad_email_share: float = Field(0.0, ge=0, le=1)
    unicode_share: float = Field(0.0, ge=0, le=1)
    many_lines_share: float = Field(0.0, ge=0, le=1)
    states_share: float = Field(0.0, ge=0, le=1)
    extremes_share: float = Field(0.0, ge=0, le=1)
    webhook_drop_share: float = Field(0.0, ge=0, le=1)  # deliveries never sent
    webhook_duplicate_share: float = Field(0.0, ge=0, le=1)  # sent twice, same delivery id
    webhook_delay_seconds: float = Field(0.0, ge=0)  # each waits up to this long: reordered

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...]) -> Faults:
        """Build from ``--fault`` strings; a bad one names itself and the accepted forms."""
        values: dict[str, object] = {}
        spans: dict[str, list[Span]] = {
            "outages": [],
            "outage_requests": [],
            "storms_429": [],
            "storm_429_requests": [],
        }
        span_kinds = {
            "outage": "outages",
            "outage-requests": "outage_requests",
            "storm429": "storms_429",
            "storm429-requests": "storm_429_requests",
        }
        share_kinds = {
            "burst5xx": "burst_5xx_share",
            "missing-address": "missing_address_share",
            "missing-phone": "missing_phone_share",
            "bad-email": "bad_email_share",
            "unicode": "unicode_share",
            "many-lines": "many_lines_share",
            "states": "states_share",
            "extremes": "extremes_share",
            "webhook-drop": "webhook_drop_share",
            "webhook-duplicate": "webhook_duplicate_share",
        }
        for spec in specs:
            kind, _, rest = spec.partition(":")
            try:
                if kind in span_kinds:
                    start, _, end = rest.partition("-")
                    spans[span_kinds[kind]].append(Span(start=float(start), end=float(end)))
                elif kind in share_kinds:
                    values[share_kinds[kind]] = float(rest)
                elif kind == "latency":
                    values["latency_seconds"] = float(rest)
                elif kind == "webhook-delay":
                    values["webhook_delay_seconds"] = float(rest)
                elif kind == "late":
                    share, _, delay = rest.partition(":")
                    values["late_share"] = float(share)
                    values["late_delay_seconds"] = float(delay)
                else:
                    raise ValueError(kind)
            except ValueError as err:
                raise ConfigurationError(
                    f"fault {spec!r} is not understood; use one of: outage:START-END, "
                    "outage-requests:A-B, burst5xx:SHARE, storm429:START-END, "
                    "storm429-requests:A-B, latency:SECONDS, late:SHARE:SECONDS, "
                    "missing-address:SHARE, missing-phone:SHARE, bad-email:SHARE, unicode:SHARE, "
                    "many-lines:SHARE, states:SHARE, extremes:SHARE, "
                    "webhook-drop:SHARE, webhook-duplicate:SHARE, webhook-delay:SECONDS"
                ) from err
        return cls.model_validate({**values, **spans})
