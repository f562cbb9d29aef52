"""The platform's benchmark: ingest against its limit and the naive way, end-to-end latency
under steady load, and a province campaign. `python -m bench --help`; see bench/README.md."""
