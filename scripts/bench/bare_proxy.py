"""The floor of any Python proxy in front of Solr here: uvicorn (httptools, uvloop) and one pooled
aiohttp session, parsing the documented body and forwarding its `json` as the API does, with no
loginsights code (no guard, no middleware, no metrics). api_bench.py runs it beside the API so that
"added by the API" can be read against what serving Python adds at all.

Run by api_bench.py: uvicorn --app-dir scripts/bench bare_proxy:app (SOLR and CRED in the env).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any
from urllib.parse import urlencode

import aiohttp

SEARCH = os.environ.get("SOLR", "http://127.0.0.1:8983/solr") + "/logInsights/search"
HEADERS = {
    "Authorization": "Basic " + base64.b64encode(os.environ.get("CRED", ":").encode()).decode(),
    "Content-Type": "application/x-www-form-urlencoded",
}
_session: aiohttp.ClientSession | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _session
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _session is not None:
                    await _session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if _session is None:
        _session = aiohttp.ClientSession(headers=HEADERS)
    value = json.dumps(json.loads(body)["json"], separators=(",", ":"))
    async with _session.post(SEARCH, data=urlencode({"json": value}).encode()) as response:
        answer, status = await response.read(), response.status
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": answer})
