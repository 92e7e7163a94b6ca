"""Solr itself: talking to it, installing the logInsights configset, running it locally."""
