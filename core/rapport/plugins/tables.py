from piccolo.columns import JSON, Boolean, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class PluginState(Table, tablename="rapport_plugin_state"):
    name = Varchar(length=100, unique=True)
    enabled = Boolean(default=False)
    changed_at = Timestamptz(default=TimestamptzNow())


class InstanceSetting(Table, tablename="rapport_setting"):
    """Run-time settings shared by every process (record visibility, theme, preset…)."""

    key = Varchar(length=100, unique=True)
    value = JSON(default="null")
