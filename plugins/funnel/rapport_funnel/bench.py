"""The funnel's part of the benchmark harness (``python -m bench``): its data and scenario 7.

``generate()`` bulk-inserts deals with their stage histories into the harness's plain
``sqlite3`` connection, then builds the reports' stage summary from them with the plugin's
own statements. ``scenarios()`` measures the board page and the conversion report through
the app in process, each against a raw baseline in the same run: plain ``sqlite3`` on a kept
connection running the same queries (for the report: over the same stage summary), then the
same templates with an equivalent context. The report is also timed the way it was built
before the summary (grouping the raw history), raw, as the before of the change.
Everything harness-side (timing, the baseline connection and its renderer, the row type of
the table) comes in through the harness's session object, so this module imports nothing of
``bench`` itself.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from typing import Any

from rapport_funnel.stage_summary import DAILY_REBUILD_SQL, rebuild_sql
from rapport_funnel.tables import IN_PROGRESS, LOST, LOST_SORT, WON, WON_SORT

BOARD_OPEN = 1_000  # open deals on the measured board
BOARD_P95_MS = 100.0
REPORT_P95_MS = 250.0
BOARD_REPEATS = 40
REPORT_REPEATS = 20
HISTORY_REPEATS = 8  # the raw-history version of the report takes seconds each
BENCH_PIPELINE = "New clients"
WORKING = [
    ("Qualification", 10, 7),
    ("Needs analysis", 25, 10),
    ("Proposal", 50, 14),
    ("Negotiation", 75, 14),
]
SOURCES = ["website", "referral", "cold call", "exhibition", "web form", "partner"]
HISTORY_DAYS = 2 * 365


def _stamp(moment: dt.datetime) -> str:
    """A ``Timestamptz`` as Piccolo stores it on SQLite (``str()`` of an aware datetime),
    always with microseconds so that text order is time order."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


# --- data ------------------------------------------------------------------------------------


def _pipeline(db: sqlite3.Connection, now: str) -> tuple[int, list[tuple[int, int, str]]]:
    """The measured pipeline and its stages ``(id, sort, semantic)`` by sort: the one the
    plugin seeded when it was enabled, or one made here the same shape."""
    row = (
        db.execute(
            "SELECT id FROM funnel_pipeline WHERE is_default = 1 ORDER BY id LIMIT 1"
        ).fetchone()
        or db.execute("SELECT id FROM funnel_pipeline ORDER BY id LIMIT 1").fetchone()
    )
    if row is None:
        pipeline_id = db.execute(
            "INSERT INTO funnel_pipeline (name, sort, is_default, archived, created_at)"
            " VALUES (?, 0, 1, 0, ?) RETURNING id",
            (BENCH_PIPELINE, now),
        ).fetchone()[0]
        stages = [
            (name, sort, "#2563eb", p, IN_PROGRESS, idle)
            for sort, (name, p, idle) in enumerate(WORKING, 1)
        ] + [
            ("Won", WON_SORT, "#16a34a", 100, WON, None),
            ("Lost", LOST_SORT, "#dc2626", 0, LOST, None),
        ]
        db.executemany(
            "INSERT INTO funnel_stage (pipeline_id, name, sort, colour, probability, semantic,"
            " idle_days, followup_days, archived) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0)",
            [(pipeline_id, *s) for s in stages],
        )
    else:
        pipeline_id = row[0]
    stages = db.execute(
        "SELECT id, sort, semantic FROM funnel_stage WHERE pipeline_id = ? AND archived = 0"
        " ORDER BY sort, id",
        (pipeline_id,),
    ).fetchall()
    return pipeline_id, stages


def _path(rng: random.Random, working: int, open_deal: bool) -> tuple[list[int], str]:
    """Where one deal went: indexes into the working stages (−1 won, −2 lost) in order, and
    its final status. Some deals move back a stage, some are lost and re-opened."""
    steps = [0]
    status = "open"
    while True:
        here = steps[-1]
        roll = rng.random()
        if roll < 0.08 and here > 0:  # back a stage, then on again
            steps.append(here - 1)
            continue
        if not open_deal and roll < 0.08 + 0.15:
            steps.append(-2)
            status = "lost"
            if rng.random() < 0.12:  # re-opened a while later, back into a working stage
                steps.append(rng.randrange(0, here + 1))
                status = "open"
                continue
            break
        if here == working - 1 or (open_deal and rng.random() < 0.45):
            if open_deal:
                break
            steps.append(-1)
            status = "won"
            break
        steps.append(here + 1)
    if open_deal and status != "open":  # an open deal ends in a working stage
        steps.append(0)
        status = "open"
    return steps, status


def generate(connection: sqlite3.Connection, context: Any) -> dict[str, int]:
    """``context.sizes["deals"]`` deals (1,000 of them open in the measured pipeline, the rest
    won or lost over two years), one history row per stay in a stage."""
    total = int(context.sizes.get("deals", 100_000))
    if total <= 0:
        return {"deals": 0, "stage_history": 0}
    rng = random.Random(context.seed * 7 + 1)
    db = connection
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    pipeline_id, stages = _pipeline(db, _stamp(now))
    working = [s for s in stages if s[2] == IN_PROGRESS]
    won = next(s for s in stages if s[2] == WON)
    lost = next(s for s in stages if s[2] == LOST)
    reasons = [r[0] for r in db.execute("SELECT id FROM funnel_lost_reason ORDER BY id")]
    users = list(context.user_ids)
    top = db.execute("SELECT coalesce(max(id), 0) FROM funnel_deal").fetchone()[0]
    open_count = min(BOARD_OPEN, max(1, total // 10))
    deals: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    for n in range(total):
        deal_id = top + n + 1
        # The open ones first in the id range: the newest deals are the ones still open.
        is_open = n < open_count
        steps, status = _path(rng, len(working), is_open)
        age = rng.uniform(0, 60 if is_open else HISTORY_DAYS) * 86400
        created = now - dt.timedelta(seconds=age)
        moment = created
        previous: int | None = None
        stays: list[list[Any]] = []
        for step in steps:
            stage = won if step == -1 else lost if step == -2 else working[step]
            if stays:
                moment = moment + dt.timedelta(seconds=rng.uniform(0.05, 0.9) * age / len(steps))
                stays[-1][5] = _stamp(moment)
                stays[-1][6] = int((moment - stays[-1][7]).total_seconds())
            stays.append(
                [deal_id, pipeline_id, previous, stage[0], _stamp(moment), None, None, moment]
            )
            previous = stage[0]
        final = stays[-1][3]
        owner = users[rng.randrange(len(users))] if users and rng.random() < 0.95 else None
        closed = _stamp(moment) if status != "open" else None
        expected = (created + dt.timedelta(days=rng.randint(14, 120))).date()
        contact = rng.randint(1, max(context.contacts, 1))
        deals.append(
            (
                deal_id,
                f"Deal {deal_id}: {rng.choice(['licences', 'support', 'rollout', 'training'])}",
                contact,
                owner,
                pipeline_id,
                final,
                status,
                rng.randrange(1_000, 5_000_000) * 100,
                expected.isoformat(),
                expected.isoformat()[:7],
                rng.choice(SOURCES),
                rng.choice(reasons) if status == "lost" and reasons else None,
                _stamp(moment),
                closed,
                owner,
                _stamp(created),
                _stamp(moment),
            )
        )
        for stay in stays:
            history.append((*stay[:6], stay[6], owner))
    db.executemany(
        "INSERT INTO funnel_deal (id, title, contact_id, company_id, owner_id, pipeline_id,"
        " stage_id, status, amount_minor, currency, expected_close, expected_close_month,"
        " source, utm_source, utm_medium, utm_campaign, utm_term, utm_content, lost_reason_id,"
        " lost_comment, stage_entered_at, closed_at, created_by, created_at, updated_at)"
        " VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, '', ?, ?, ?, '', '', '', '', '', ?, '', ?, ?, ?,"
        " ?, ?)",
        deals,
    )
    db.executemany(
        "INSERT INTO funnel_stage_history (deal_id, pipeline_id, from_stage_id, to_stage_id,"
        " entered_at, left_at, seconds_in_stage, by_user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        history,
    )
    db.execute("ANALYZE funnel_deal")
    db.execute("ANALYZE funnel_stage_history")
    # The reports' summary, built from the history as the migration builds it.
    db.execute("DELETE FROM funnel_deal_stage")
    db.execute("DELETE FROM funnel_stage_daily")
    db.execute(rebuild_sql("sqlite"))
    db.execute(DAILY_REBUILD_SQL)
    return {"deals": len(deals), "open_on_board": open_count, "stage_history": len(history)}


# --- scenario 7 ------------------------------------------------------------------------------


def _moment(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


class RawFunnel:
    """The board and the conversion report with plain ``sqlite3`` and the same templates."""

    def __init__(self, baseline: Any) -> None:
        self.baseline = baseline
        self.db = baseline.db

    def _stages(self, pipeline_id: int) -> list[dict[str, Any]]:
        stages = self.db.execute(
            "SELECT * FROM funnel_stage WHERE pipeline_id = ? AND archived = 0 ORDER BY sort, id",
            (pipeline_id,),
        ).fetchall()
        for stage in stages:
            stage["archived"] = bool(stage["archived"])
        return stages

    def _names(self, table: str, ids: set[Any]) -> dict[int, str]:
        wanted = sorted(i for i in ids if i is not None)
        if not wanted:
            return {}
        rows = self.db.execute(
            f"SELECT id, name FROM {table} WHERE id IN ({','.join('?' * len(wanted))})", wanted
        )
        return {r["id"]: r["name"] for r in rows}

    def _common(self, pipeline_id: int, *, report: bool = False) -> dict[str, Any]:
        from rapport_funnel.reports.summary import SOURCES_SQL

        q = self.db.execute
        pipelines = q(
            "SELECT * FROM funnel_pipeline WHERE archived = 0 ORDER BY sort, id"
        ).fetchall()
        owners = [
            (r["id"], r["name"])
            for r in q("SELECT id, name FROM rapport_user WHERE is_active = 1 ORDER BY name")
        ]
        from rapport_funnel.board import _SOURCES_SQL

        # The report pages read the sources from the stage summary, the board from its index.
        if report:
            sources = [r["source"] for r in q(SOURCES_SQL.replace("{}", "?"), (pipeline_id,))]
        else:
            sources = [
                r["source"]
                for r in q(_SOURCES_SQL.replace("{}", "?"), (pipeline_id, pipeline_id))
            ]
        return {"pipelines": pipelines, "owners": owners, "sources": sources}

    def board(self, token: str, pipeline_id: int) -> str:
        """The paged board as the plugin builds it: stages, one grouped query for the counts
        and per-currency sums, one page query per column (keyset order, one card more than a
        page to know whether there is a next), the open tasks and names of the shown cards."""
        from rapport_funnel.board import CARD_COLUMNS, PAGE_SIZE, Column, cursor_of
        from rapport_funnel.money import format_money, instance_currency
        from rapport_funnel.routes.common import PERIODS

        user = self.baseline.user(token)
        q = self.db.execute
        pipeline = q("SELECT * FROM funnel_pipeline WHERE id = ?", (pipeline_id,)).fetchone()
        stages = self._stages(pipeline_id)
        columns = {s["id"]: Column(stage=s) for s in stages}
        names = ", ".join(c._meta.db_column_name for c in CARD_COLUMNS)
        moment = dt.datetime.now(dt.UTC)
        since = str(moment - dt.timedelta(days=30))
        home = instance_currency()
        for row in q(
            "SELECT stage_id, currency, COUNT(*) AS n, SUM(amount_minor) AS total FROM ("
            " SELECT stage_id, currency, amount_minor FROM funnel_deal"
            " WHERE pipeline_id = ? AND status = 'open' UNION ALL"
            " SELECT stage_id, currency, amount_minor FROM funnel_deal"
            " WHERE pipeline_id = ? AND status IN ('won', 'lost') AND closed_at >= ?"
            ") AS shown GROUP BY stage_id, currency",
            (pipeline_id, pipeline_id, since),
        ):
            column = columns.get(row["stage_id"])
            if column is not None:
                code = (row["currency"] or home).upper()
                column.count += row["n"]
                column.totals[code] = column.totals.get(code, 0) + (row["total"] or 0)
        cards: list[dict[str, Any]] = []
        for column in columns.values():
            if not column.count:
                continue
            if column.stage["semantic"] == IN_PROGRESS:
                sql = (
                    f"SELECT {names} FROM funnel_deal WHERE stage_id = ?"
                    " ORDER BY stage_entered_at DESC, id DESC LIMIT ?"
                )
                args: tuple[Any, ...] = (column.stage["id"], PAGE_SIZE + 1)
            else:
                sql = (
                    f"SELECT {names} FROM funnel_deal WHERE stage_id = ? AND closed_at >= ?"
                    " ORDER BY closed_at DESC, id DESC LIMIT ?"
                )
                args = (column.stage["id"], since, PAGE_SIZE + 1)
            rows = q(sql, args).fetchall()
            for card in rows:
                for key in ("stage_entered_at", "closed_at"):
                    card[key] = _moment(card[key])
                if card["expected_close"]:
                    card["expected_close"] = dt.date.fromisoformat(card["expected_close"])
            column.cards = rows[:PAGE_SIZE]
            if len(rows) > PAGE_SIZE:
                column.next_cursor = cursor_of(column.stage, column.cards[-1])
            cards.extend(column.cards)
        ids = [str(c["id"]) for c in cards]
        tasks: dict[str, list[dict[str, Any]]] = {}
        for row in q(
            "SELECT id, subject_id, body, due_at, assignee, contact FROM rapport_activity"
            f" WHERE subject_type = 'deal' AND subject_id IN ({','.join('?' * len(ids))})"
            " AND kind = 'task' AND done_at IS NULL ORDER BY due_at IS NULL, due_at, id",
            ids,
        ):
            row["due_at"] = _moment(row["due_at"])
            tasks.setdefault(row["subject_id"], []).append(row)
        contacts = self._names("rapport_contact", {c["contact_id"] for c in cards})
        owners = self._names("rapport_user", {c["owner_id"] for c in cards})
        by_stage = {s["id"]: s for s in stages}
        for card in cards:
            stage = by_stage.get(card["stage_id"], {})
            card["contact_name"] = contacts.get(card["contact_id"]) or ""
            card["company_name"] = ""
            card["owner_name"] = owners.get(card["owner_id"]) or ""
            card["amount_text"] = format_money(card["amount_minor"], card["currency"])
            mine = tasks.get(str(card["id"]), [])
            card["next_task"] = mine[0] if mine else None
            days = max(0, (moment - card["stage_entered_at"]).days)
            card["days_in_stage"] = days
            is_open = card["status"] == "open" and stage.get("semantic") == IN_PROGRESS
            due = card["next_task"]["due_at"] if card["next_task"] else None
            card["overdue"] = bool(is_open and due is not None and due < moment)
            card["no_next_step"] = bool(is_open and card["next_task"] is None)
            idle = stage.get("idle_days")
            card["rotting"] = bool(is_open and idle is not None and days > idle)
        shown = list(columns.values())
        reasons = q(
            "SELECT * FROM funnel_lost_reason WHERE active = 1 ORDER BY sort, id"
        ).fetchall()
        return self.baseline.render(
            "funnel/board.html",
            **self.baseline._page(user, f"/funnel/pipelines/{pipeline_id}"),
            **self._common(pipeline_id),
            pipeline=pipeline,
            columns=shown,
            reasons=reasons,
            periods=PERIODS,
            filters={"owner": "", "source": "", "period": ""},
            query="",
            currency=instance_currency(),
            first_stage=next((c.stage for c in shown if c.stage["semantic"] == IN_PROGRESS), None),
            errors={},
        )

    def conversion(self, token: str, pipeline_id: int, start: dt.date, end: dt.date) -> str:
        """The report as the plugin builds it now: the same grouped query over the stage
        summary's daily sums, the same arithmetic, the same template."""
        from rapport_funnel.reports.base import ReportFilters
        from rapport_funnel.reports.summary import daily_sql

        since = dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC)
        until = dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC) + dt.timedelta(days=1)
        every = self.db.execute(
            "SELECT * FROM funnel_stage WHERE pipeline_id = ? ORDER BY sort, id", (pipeline_id,)
        ).fetchall()
        sql, args = daily_sql(
            ReportFilters(since=since, until=until, pipeline_id=pipeline_id),
            [s["id"] for s in every],
        )
        totals = {r["stage_id"]: r for r in self.db.execute(sql.replace("{}", "?"), args)}
        sort_of = {s["id"]: s["sort"] for s in every}
        tops = [{"top": sort_of[k], "n": r["furthest"]} for k, r in totals.items()]
        entered = {k: r["entered"] for k, r in totals.items()}
        moved = {k: r["moved_on"] for k, r in totals.items()}
        stages = [s for s in every if s["semantic"] != LOST and not s["archived"]]
        return self._conversion_page(token, pipeline_id, start, end, stages, entered, moved, tops)

    def conversion_from_history(
        self, token: str, pipeline_id: int, start: dt.date, end: dt.date
    ) -> str:
        """The report as the plugin built it before the stage summary: three grouped queries
        with ``COUNT(DISTINCT …)`` over the raw history of the cohort, the same template."""
        q = self.db.execute
        since = str(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC))
        until = str(dt.datetime(end.year, end.month, end.day, tzinfo=dt.UTC) + dt.timedelta(days=1))
        where = "d.pipeline_id = ? AND d.created_at >= ? AND d.created_at < ?"
        args = (pipeline_id, since, until)
        entered = {
            r["stage_id"]: r["n"]
            for r in q(
                "SELECT h.to_stage_id AS stage_id, COUNT(DISTINCT h.deal_id) AS n"
                " FROM funnel_stage_history h JOIN funnel_deal d ON d.id = h.deal_id"
                f" WHERE {where} GROUP BY h.to_stage_id",
                args,
            )
        }
        moved = {
            r["stage_id"]: r["n"]
            for r in q(
                "SELECT h.from_stage_id AS stage_id, COUNT(DISTINCT h.deal_id) AS n"
                " FROM funnel_stage_history h JOIN funnel_deal d ON d.id = h.deal_id"
                " JOIN funnel_stage sf ON sf.id = h.from_stage_id"
                " JOIN funnel_stage st ON st.id = h.to_stage_id"
                f" WHERE st.sort > sf.sort AND st.semantic <> 'lost' AND {where}"
                " GROUP BY h.from_stage_id",
                args,
            )
        }
        tops = q(
            "SELECT t.top AS top, COUNT(*) AS n FROM ("
            f" SELECT d.id AS id, CASE WHEN d.status = 'won' THEN {WON_SORT} ELSE MAX(s.sort)"
            " END AS top FROM funnel_deal d JOIN funnel_stage_history h ON h.deal_id = d.id"
            " LEFT JOIN funnel_stage s ON s.id = h.to_stage_id AND s.semantic = 'in_progress'"
            f" WHERE {where} GROUP BY d.id, d.status) t GROUP BY t.top",
            args,
        ).fetchall()
        stages = [s for s in self._stages(pipeline_id) if s["semantic"] != LOST]
        return self._conversion_page(token, pipeline_id, start, end, stages, entered, moved, tops)

    def _conversion_page(
        self,
        token: str,
        pipeline_id: int,
        start: dt.date,
        end: dt.date,
        stages: list[dict[str, Any]],
        entered: dict[int, int],
        moved: dict[int, int],
        tops: list[dict[str, Any]],
    ) -> str:
        from rapport_funnel.reports import registry, svg
        from rapport_funnel.reports.base import Bar, Report, percent

        user = self.baseline.user(token)

        def reached(sort: int) -> int:
            return sum(r["n"] for r in tops if r["top"] is not None and r["top"] >= sort)

        report = Report(
            key="conversion",
            title="Funnel conversion",
            columns=[
                "Stage",
                "Entered",
                "Moved on",
                "Reached",
                "Conversion to next, %",
                "From first stage, %",
            ],
        )
        first = reached(stages[0]["sort"]) if stages else 0
        for index, stage in enumerate(stages):
            here = reached(stage["sort"])
            following = stages[index + 1] if index + 1 < len(stages) else None
            report.rows.append(
                [
                    stage["name"],
                    entered.get(stage["id"], 0),
                    moved.get(stage["id"], 0) if stage["semantic"] == IN_PROGRESS else None,
                    here,
                    percent(reached(following["sort"]), here) if following else None,
                    percent(here, first),
                ]
            )
            report.bars.append(Bar(stage["name"], here, f"{here} ({percent(here, first) or 0}%)"))
        bars, height = svg.layout(report.bars)
        shown = {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "pipeline": str(pipeline_id),
            "owner": "",
            "source": "",
        }
        common = self._common(pipeline_id, report=True)
        return self.baseline.render(
            "funnel/report.html",
            **self.baseline._page(user, "/funnel/reports/conversion"),
            report=report,
            bars=bars,
            chart_height=height,
            chart=svg,
            titles=registry.titles(),
            key="conversion",
            shown=shown,
            query="&".join(f"{k}={v}" for k, v in shown.items() if v),
            pipelines=common["pipelines"],
            owners=common["owners"],
            sources=common["sources"],
            errors={},
            values={},
        )


def max_open_column(db: sqlite3.Connection, pipeline_id: int) -> int:
    """The number of open deals in the fullest working column (its count is on the board)."""
    row = db.execute(
        "SELECT count(*) AS n FROM funnel_deal WHERE pipeline_id = ? AND status = 'open'"
        " GROUP BY stage_id ORDER BY n DESC LIMIT 1",
        (pipeline_id,),
    ).fetchone()
    return row["n"] if row else 0


class FunnelScenario:
    name = "funnel"

    async def run(self, s: Any) -> list[Any]:
        row_type = s.Row
        scenario = "7. funnel"
        db = s.baseline.db
        found = db.execute(
            "SELECT pipeline_id, count(*) AS n FROM funnel_deal WHERE status = 'open'"
            " GROUP BY pipeline_id ORDER BY n DESC LIMIT 1"
        ).fetchone()
        if found is None:
            return [
                row_type(
                    scenario, "board and conversion report", note="no funnel deals in this data set"
                )
            ]
        pipeline_id, open_deals = found["pipeline_id"], found["n"]
        total = db.execute(
            "SELECT count(*) AS n, min(created_at) AS first FROM funnel_deal WHERE pipeline_id = ?",
            (pipeline_id,),
        ).fetchone()
        newest = db.execute(
            "SELECT title FROM funnel_deal WHERE pipeline_id = ? AND status = 'open'"
            " ORDER BY stage_entered_at DESC LIMIT 1",
            (pipeline_id,),
        ).fetchone()["title"]
        # The first page of every working column: what both pages must show as cards.
        from rapport_funnel.board import PAGE_SIZE

        first_pages = sum(
            min(r["n"], PAGE_SIZE)
            for r in db.execute(
                "SELECT stage_id, count(*) AS n FROM funnel_deal WHERE pipeline_id = ?"
                " AND status = 'open' GROUP BY stage_id",
                (pipeline_id,),
            )
        )
        count_text = f'data-count>{max_open_column(db, pipeline_id)}<'

        raw = RawFunnel(s.baseline)
        board_path = f"/funnel/pipelines/{pipeline_id}"
        sizes: list[int] = []

        async def board(i: int) -> None:
            response = await s.get(board_path, newest)
            assert response.text.count('class="deal-card') >= first_pages, "cards missing"
            assert count_text in response.text, "column count missing"
            sizes.append(len(response.content))

        raw_sizes: list[int] = []

        def raw_board(i: int) -> None:
            html = raw.board(s.token, pipeline_id)
            assert html.count('class="deal-card') >= first_pages, "cards missing"
            assert count_text in html, "column count missing"
            raw_sizes.append(len(html.encode()))

        # Heavy pages get fewer repetitions than the core's (a full run stays in minutes).
        pages = min(s.repeats.pages, BOARD_REPEATS)
        r, b = await s.measure(board, pages), await s.measure(raw_board, pages)
        rows = [
            self._row(
                row_type,
                scenario,
                f"board, {open_deals:,} open deals",
                r,
                b,
                BOARD_P95_MS,
                f"{first_pages} cards up front; page {sum(sizes) // len(sizes):,} B,"
                f" baseline {sum(raw_sizes) // len(raw_sizes):,} B",
            )
        ]

        start = dt.datetime.fromisoformat(total["first"]).date()
        end = dt.datetime.now(dt.UTC).date()
        deals = total["n"]
        expect = f"{deals} ("  # the first stage's bar: every deal of the cohort reached it
        params = {"start": start.isoformat(), "end": end.isoformat(), "pipeline": str(pipeline_id)}

        async def report(i: int) -> None:
            await s.get("/funnel/reports/conversion", expect, params=params)

        def raw_report(i: int) -> None:
            html = raw.conversion(s.token, pipeline_id, start, end)
            assert expect in html

        def raw_history_report(i: int) -> None:
            html = raw.conversion_from_history(s.token, pipeline_id, start, end)
            assert expect in html

        # The summary must give the page the raw history gives, on the whole data set.
        same = raw.conversion(s.token, pipeline_id, start, end) == raw.conversion_from_history(
            s.token, pipeline_id, start, end
        )
        assert same, "the stage summary and the raw history disagree"
        pages = min(s.repeats.pages, REPORT_REPEATS)
        r, b = await s.measure(report, pages), await s.measure(raw_report, pages)
        before = await s.measure(raw_history_report, min(pages, HISTORY_REPEATS))
        rows.append(
            self._row(
                row_type,
                scenario,
                f"conversion report, {deals:,} deals",
                r,
                b,
                REPORT_P95_MS,
                "cohort: every deal of the pipeline; baseline reads the same stage summary;"
                " same page as from the raw history, which raw took"
                f" {before.p50 * 1000:,.0f}/{before.p95 * 1000:,.0f} ms p50/p95"
                f" ({before.p95 / b.p95:,.0f}× the summary's baseline by p95)",
            )
        )
        return rows

    @staticmethod
    def _row(
        row_type: Any, scenario: str, variant: str, r: Any, b: Any, limit_ms: float, note: str
    ) -> Any:
        return row_type(
            scenario,
            variant,
            r,
            b,
            "ms",
            target=f"p95 ≤ {limit_ms:.0f} ms",
            met=r.p95 * 1000 <= limit_ms,
            note=note,
        )


def scenarios() -> list[Any]:
    return [FunnelScenario()]
