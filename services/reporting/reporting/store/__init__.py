"""Every SQL statement of the reporting service: ingest (writes), queries (reads), tokens."""
