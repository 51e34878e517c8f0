"""Database access: the engine, transactions that publish events, migrations."""
