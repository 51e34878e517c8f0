"""The core's own features, written as plugins on the public hooks."""
