"""rapport-funnel: the sales funnel plugin of Rapport."""

__version__ = "0.1.0"
