"""Solr itself: who loginsights is to it (accounts), talking to it (transport), finding its nodes
(zookeeper), installing the logInsights configset, running it locally.

Only the leaf types are re-exported here: ``pipeline.settings`` imports them, and the modules that
talk to Solr import the settings.
"""

from pipeline.solr.accounts import SolrAccount, SolrAccounts, SolrRole

__all__ = ["SolrAccount", "SolrAccounts", "SolrRole"]
