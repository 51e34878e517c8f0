from piccolo.columns import JSON, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Job(Table, tablename="rapport_job"):
    name = Varchar(length=150)  # a registered job's name, e.g. "loyalty.expire_points"
    args = JSON(default="{}")
    status = Varchar(length=16, default="queued")  # queued, running, done, failed
    attempts = Integer(default=0)
    max_attempts = Integer(default=5)
    run_at = Timestamptz(default=TimestamptzNow())
    locked_by = Varchar(length=100, default="")
    locked_until = Timestamptz(null=True, default=None)
    progress = Integer(default=0)  # 0..100, for long jobs a page can show
    last_error = Text(default="")
    # Jobs with a unique key are not queued twice while one is pending (schedules use it).
    unique_key = Varchar(length=200, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)


class ScheduleState(Table, tablename="rapport_schedule"):
    """When a schedule last fired, so a restart neither skips nor repeats a run."""

    name = Varchar(length=150, unique=True)
    last_run_at = Timestamptz(null=True, default=None)
