"""Contacts: people and companies, their channels, tags and custom fields."""
