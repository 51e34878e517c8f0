"""Outgoing webhooks: subscriptions, signed deliveries from the outbox, the attempt log."""
