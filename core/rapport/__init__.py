"""Rapport: a plugin-based CRM platform."""

import os

__version__ = "0.1.0"

# Piccolo looks its engine and app registry up through this module; ours builds both from the
# running configuration instead of a file in the working directory.
os.environ.setdefault("PICCOLO_CONF", "rapport.piccolo_conf")
