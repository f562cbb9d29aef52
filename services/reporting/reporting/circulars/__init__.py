"""Circulars (通报) as the office sees them: the platform's drafts, the office's edits, sign-off
and discards through the API (each published as a `supervision.*` decision that notification
acts on), and what was issued with its document number."""
