"""What the one scrubber costs a message, by how many secrets the process holds.

Every log line, failure message and API error goes through ``pipeline.scrub``; a fleet holds a
token (or two) per shop, and each is known in every encoding it may be printed in. The baseline
is the same scrubber holding no secret (its patterns alone), measured in the same run.

    .venv/bin/python scripts/bench/scrub_bench.py --shops 10 100 1000 --messages 2000
"""

from __future__ import annotations

import argparse
import secrets
import time

from pipeline.scrub import Scrubber

MESSAGE = (
    "Order #1001 (5500000000034) of shop hc-demo has no shipping address; fix it in the Shopify "
    "admin, then re-import it with `loginsights reimport --shop hc-demo --order-id 5500000000034`"
)


def per_message(scrubber: Scrubber, messages: int) -> float:
    started = time.perf_counter()
    for _ in range(messages):
        scrubber(MESSAGE)
    return (time.perf_counter() - started) / messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    baseline = per_message(Scrubber(), args.messages)
    print("| secrets held | forms known | µs a message | ratio to none held |")
    print("|---|---|---|---|")
    print(f"| 0 (baseline) | 0 | {baseline * 1e6:.0f} | 1.00 |")
    for shops in args.shops:
        scrubber = Scrubber(secrets.token_urlsafe(24) for _ in range(shops))
        cost = per_message(scrubber, args.messages)
        forms = len(scrubber._secrets)
        print(f"| {shops} | {forms} | {cost * 1e6:.0f} | {cost / baseline:.2f} |")


if __name__ == "__main__":
    main()
