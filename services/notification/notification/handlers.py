"""One handler per consumed event type: parse → load → decide → save + outbox."""

from __future__ import annotations

from grassroots.plumbing.handling import Handler

HANDLERS: dict[str, Handler] = {}
