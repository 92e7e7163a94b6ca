"""What may reach Solr from outside, decided without Solr: shared by the HTTP API and the console.

``params`` allows parameters by name, ``values`` reads each value as Solr will (local params by
Solr's own grammar), ``ranges`` works out range-facet buckets before Solr builds them,
``budget`` adds up what a request costs, and ``guard`` walks a documented request with them.
Neither the API nor the console is imported here, so both can use it.
"""

from pipeline.search.guard import GuardedQuery, QueryLimits, guard_request

__all__ = ["GuardedQuery", "QueryLimits", "guard_request"]
