"""rapport-hello: an example Rapport plugin that greets every new contact."""

__version__ = "0.1.0"
