"""The reporting service: read models, the query API, exports and the dashboard."""
