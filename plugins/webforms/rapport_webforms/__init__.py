"""rapport-webforms: web forms that land every request in the CRM."""

__version__ = "0.1.0"
