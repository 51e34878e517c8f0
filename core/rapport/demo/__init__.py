"""Realistic demo data: a few hundred clients of a small firm with their history."""
