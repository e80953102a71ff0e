"""Outgoing network access on behalf of users (remote task data, webhooks)."""
