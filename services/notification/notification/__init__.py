"""The notification service: email, webhooks and inbox; reminders, escalation, circulars (督办提醒, 通报)."""
