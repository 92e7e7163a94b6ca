"""The ``loginsights`` command: parse, call one library function, print.

``main`` and the helpers every command shares live in ``group``; each module below attaches its
commands to it when imported here.
"""

from __future__ import annotations

from pipeline.cli import (  # noqa: F401  (commands attach themselves)
    contracts,
    imports,
    ledger,
    notify,
    query,
    reconcile,
    serve,
    shops,
    simulate,
    solr,
    solr_users,
    troubleshoot,
    webhooks,
)
from pipeline.cli.group import *  # noqa: F403  (main and what every command shares)
from pipeline.cli.group import __all__ as __all__
