"""Durable background jobs, schedules and long-lived services."""
