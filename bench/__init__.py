"""Rapport's benchmark harness: ``python -m bench generate`` and ``python -m bench run``."""
