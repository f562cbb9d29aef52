"""Plumbing every service uses: settings, Kafka, PostgreSQL, inbox, outbox, DLQ, metrics."""
