"""The failure console: the web page order-operations people open every morning.

Served by ``loginsights serve`` at ``/``, behind the API's bearer tokens: logging in with one
opens a server-side session (``sessions.py``), whose random id is the http-only cookie. The
failure list, its counts, facets and the chart are Solr queries on logInsights, sent through the
same guard as ``/api/solr-query`` (the console is a view of what people search); shop lag, one
order's story, the actions and the reconciliation reports come from the ledger. No number on a
page comes from the page's own arithmetic.

Actions (Re-import, Refresh, Retry all shown) run the library functions the CLI runs and need a
token of ``LOGINSIGHTS_API_ADMIN_TOKENS``; read-only tokens see no buttons and get 403.
"""

from pipeline.console.pages import Console, ConsoleDeps
from pipeline.console.routes import router

__all__ = ["Console", "ConsoleDeps", "router"]
