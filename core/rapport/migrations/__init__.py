"""The core's migrations, and what the hand-written ones share."""

from typing import Any

from piccolo.columns.indexes import IndexMethod


def column_params(**params: Any) -> dict[str, Any]:
    """The full parameter set Piccolo's ``add_column`` expects, with ``params`` over the
    defaults of a plain, non-null, unindexed column."""
    base: dict[str, Any] = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    base.update(params)
    return base
