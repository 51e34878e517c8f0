"""The raw baseline: the same pages with plain ``sqlite3`` on one kept connection.

Each method does the work the matching Rapport page does — the session lookup, the same rows
by the same indexes, and the same Jinja template of the default theme with an equivalent
context — and nothing else: no framework, no ORM, no thread hop, no plugin hooks. Pure
presentation helpers of the core (phone formatting, the timeline's item preparation, the
search tokeniser and its ordering) are reused, so the difference measured is the data path and
the framework, not a different page. Layout data that does not come from the database (the
menu contributed by plugins) is taken once at start-up, as a hand-written app would hard-code
it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from jinja2 import Environment
from rapport.contacts.listing import ContactRow, ListFilters, decode_cursor, encode_cursor
from rapport.contacts.phones import digits, format_international, try_normalise

_USER = (
    "SELECT s.id AS session_id, s.created_at, s.last_seen_at, u.id, u.email, u.name, u.role,"
    " u.language, u.is_active, u.password_changed_at FROM rapport_session s"
    " JOIN rapport_user u ON u.id = s.user WHERE s.token_hash = ?"
)


def _dict_factory(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}


def _moment(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def environment() -> Environment:
    """The default theme's Jinja environment as the app builds it, without a request."""
    from rapport.plugins.registry import PluginRegistry
    from rapport.web.themes import DEFAULT_THEME, discover_themes, template_environment

    registry = PluginRegistry()
    dirs = [
        Path(d) for d in registry.collect_from(registry.all_modules(), "register_template_dirs")
    ]
    env = template_environment(discover_themes(), DEFAULT_THEME, plugin_dirs=dirs)
    return env


class Baseline:
    def __init__(self, database: Path, layout: dict[str, Any], region: str = "RU") -> None:
        self.db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self.db.row_factory = _dict_factory
        self.db.execute("PRAGMA foreign_keys = 1")
        self.db.execute("PRAGMA busy_timeout = 10000")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.env = environment()
        self.env.globals["csrf_token"] = lambda: self.csrf
        self.csrf = ""
        self.layout = layout  # menu, languages ...: not database work
        self.region = region
        self._templates: dict[str, Any] = {}

    def render(self, name: str, **context: Any) -> str:
        template = self._templates.get(name) or self._templates.setdefault(
            name, self.env.get_template(name)
        )
        return template.render(**context)

    def user(self, token: str) -> dict[str, Any]:
        row = self.db.execute(_USER, (hashlib.sha256(token.encode()).hexdigest(),)).fetchone()
        if row is None or not row["is_active"]:
            raise PermissionError("not signed in")
        return row

    def _page(self, user: dict[str, Any], path: str) -> dict[str, Any]:
        return {**self.layout, "user": user, "path": path, "is_htmx": False}

    # --- the card -----------------------------------------------------------------------

    def card(self, token: str, contact_id: int) -> str:
        from rapport.web.pages.contact_card import channels
        from rapport.web.pages.contact_common import kind_label
        from rapport.web.pages.contact_timeline import PAGE, QUICK_KINDS, LogForm, encode_before
        from rapport.web.pages.contact_timeline import prepare as prepare_items

        user = self.user(token)
        q = self.db.execute
        contact = q("SELECT * FROM rapport_contact WHERE id = ?", (contact_id,)).fetchone()
        contact["custom"] = json.loads(contact["custom"] or "{}")
        contact["created_at"] = _moment(contact["created_at"])
        contact["emails"] = q(
            "SELECT email, normalized, label FROM rapport_contact_email WHERE contact = ?"
            " ORDER BY id",
            (contact_id,),
        ).fetchall()
        contact["phones"] = q(
            "SELECT raw, e164, label FROM rapport_contact_phone WHERE contact = ? ORDER BY id",
            (contact_id,),
        ).fetchall()
        contact["tags"] = [
            r["name"]
            for r in q(
                "SELECT t.name FROM rapport_contact_tag ct JOIN rapport_tag t ON t.id = ct.tag"
                " WHERE ct.contact = ? ORDER BY t.name",
                (contact_id,),
            )
        ]
        contact["company_name"] = None
        if contact["company"]:
            row = q(
                "SELECT name FROM rapport_contact WHERE id = ?", (contact["company"],)
            ).fetchone()
            contact["company_name"] = row["name"] if row else None
        people: list[ContactRow] = []
        if contact["kind"] == "company":
            people = self._rows(
                q(
                    self._list_select()
                    + " WHERE c.archived = 0 AND c.company = ? AND c.kind = 'person'"
                    " ORDER BY c.name, c.id LIMIT 50",
                    (contact_id,),
                ).fetchall()
            )
        rows = q(
            "SELECT * FROM rapport_activity WHERE contact = ? ORDER BY occurred_at DESC, id DESC"
            " LIMIT ?",
            (contact_id, PAGE + 1),
        ).fetchall()
        for row in rows:
            row["payload"] = json.loads(row["payload"] or "{}")
            for key in ("occurred_at", "due_at", "done_at", "created_at"):
                row[key] = _moment(row[key])
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        ids = sorted(
            ({r["author"] for r in rows} | {r["assignee"] for r in rows} | {contact["owner"]})
            - {None}
        )
        names = {
            r["id"]: r["name"]
            for r in q(
                f"SELECT id, name FROM rapport_user WHERE id IN ({','.join('?' * len(ids))})", ids
            )
        }
        users = [
            (r["id"], r["name"])
            for r in q("SELECT id, name FROM rapport_user WHERE is_active = 1 ORDER BY name")
        ]
        return self.render(
            "contacts/card.html",
            **self._page(user, f"/contacts/{contact_id}"),
            contact=contact,
            channels=channels(contact),
            owner_name=names.get(contact["owner"]),
            custom=[],
            people=people,
            items=prepare_items(rows, names),
            before=encode_before(rows[-1]) if more else None,
            older=False,
            can={"edit": True, "archive": True, "merge": True, "log": True},
            panels=[],
            actions=[],
            log=LogForm(assignee_id=str(user["id"])),
            log_errors={},
            users=users,
            quick_kinds=[(k, kind_label(k)) for k in QUICK_KINDS],
        )

    # --- the list -----------------------------------------------------------------------

    @staticmethod
    def _list_select() -> str:
        return (
            "SELECT c.id, c.kind, c.name, c.company, co.name AS company_name, c.owner,"
            " u.name AS owner_name, c.source, c.archived, c.updated_at FROM rapport_contact c"
            " LEFT JOIN rapport_contact co ON co.id = c.company"
            " LEFT JOIN rapport_user u ON u.id = c.owner"
        )

    def _rows(self, records: list[dict[str, Any]]) -> list[ContactRow]:
        rows = [
            ContactRow(
                id=r["id"],
                kind=r["kind"],
                name=r["name"],
                company_id=r["company"],
                company_name=r["company_name"],
                owner_id=r["owner"],
                owner_name=r["owner_name"],
                source=r["source"],
                archived=bool(r["archived"]),
                updated_at=_moment(r["updated_at"]),
            )
            for r in records
        ]
        if not rows:
            return rows
        by_id = {row.id: row for row in rows}
        marks = ",".join("?" * len(by_id))
        q = self.db.execute
        for r in q(
            f"SELECT contact, email FROM rapport_contact_email WHERE contact IN ({marks})"
            " ORDER BY id",
            list(by_id),
        ):
            row = by_id[r["contact"]]
            row.email = row.email or r["email"]
        for r in q(
            f"SELECT contact, e164 FROM rapport_contact_phone WHERE contact IN ({marks})"
            " ORDER BY id",
            list(by_id),
        ):
            row = by_id[r["contact"]]
            if row.phone is None:
                row.phone, row.phone_display = r["e164"], format_international(r["e164"])
        for r in q(
            "SELECT ct.contact, t.name FROM rapport_contact_tag ct JOIN rapport_tag t"
            f" ON t.id = ct.tag WHERE ct.contact IN ({marks}) ORDER BY t.name",
            list(by_id),
        ):
            by_id[r["contact"]].tags.append(r["name"])
        return rows

    def contact_list(self, token: str, after: str | None = None) -> str:
        user = self.user(token)
        q = self.db.execute
        sql, args = self._list_select() + " WHERE c.archived = 0", []
        cursor = decode_cursor("name", after)
        if cursor is not None:
            sql += " AND c.name >= ? AND (c.name > ? OR c.id > ?)"
            args += [cursor[0], cursor[0], cursor[1]]
        found = q(sql + " ORDER BY c.name, c.id LIMIT 51", args).fetchall()
        rows = self._rows(found[:50])
        filters = ListFilters()
        next_cursor = encode_cursor("name", rows[-1]) if len(found) > 50 else None
        return self.render(
            "contacts/list.html",
            **self._page(user, "/contacts"),
            filters=filters,
            rows=rows,
            next_url=f"/contacts?after={next_cursor}" if next_cursor else None,
            first_url="/contacts" if after else None,
            tags=[r["name"] for r in q("SELECT name FROM rapport_tag ORDER BY name LIMIT 500")],
            owners=[
                (r["id"], r["name"])
                for r in q("SELECT id, name FROM rapport_user WHERE is_active = 1 ORDER BY name")
            ],
            can={"edit": True, "archive": True, "merge": True, "log": True},
        )

    # --- search -------------------------------------------------------------------------

    _HIT = (
        "SELECT c.id, c.kind, c.name, c.first_name, c.last_name, c.company AS company_id,"
        " co.name AS company_name, c.archived"
    )

    def search(self, token: str, text: str, limit: int = 8) -> str:
        """The as-you-type partial; the path is chosen the way the core chooses it."""
        from rapport.contacts.search import (
            _digit_range,
            _fts5_query,
            _looks_like_phone,
            _name_order,
            _prefix_end,
            search_tokens,
        )

        self.user(token)
        q = self.db.execute
        join = " LEFT JOIN rapport_contact co ON co.id = c.company"
        hits: list[dict[str, Any]] = []
        if "@" in text:
            needle = "".join(text.split()).lower()
            rows = q(
                self._HIT + ", e.normalized AS matched FROM rapport_contact_email e"
                " CROSS JOIN rapport_contact c" + join + " WHERE c.id = e.contact"
                " AND e.normalized >= ? AND e.normalized < ? AND c.archived = 0"
                " ORDER BY e.normalized, c.id LIMIT ?",
                (needle, _prefix_end(needle), limit * 2),
            ).fetchall()
            hits = rows
        elif _looks_like_phone(text):
            e164 = try_normalise(text, self.region)
            typed = digits(text)[:19]
            low, high = _digit_range(typed[::-1])
            select = (
                self._HIT + ", p.e164 AS matched FROM rapport_contact_phone p"
                " CROSS JOIN rapport_contact c" + join + " WHERE c.id = p.contact"
            )
            rows = []
            if e164:
                rows += q(
                    select + " AND p.e164 = ? AND c.archived = 0 LIMIT ?", (e164, limit * 2)
                ).fetchall()
            rows += q(
                select + " AND p.reversed_digits >= ? AND p.reversed_digits <= ?"
                " AND c.archived = 0 ORDER BY p.reversed_digits, c.id LIMIT ?",
                (low, high, limit * 2),
            ).fetchall()
            for row in rows:
                row["matched"] = format_international(row["matched"])
            hits = rows
        else:
            tokens = search_tokens(text)
            rows = q(
                self._HIT
                + " FROM rapport_contact_fts CROSS JOIN rapport_contact c"
                + join
                + " WHERE c.id = rapport_contact_fts.rowid AND rapport_contact_fts MATCH ?"
                " AND c.archived = 0 ORDER BY rapport_contact_fts.rowid LIMIT ?",
                (_fts5_query(t[:6] for t in tokens), max(limit * 3, 50)),
            ).fetchall()
            rows.sort(key=lambda row: _name_order(row, tokens))
            hits = [{**row, "matched": None} for row in rows]
        seen: set[int] = set()
        unique = []
        for hit in hits:
            if hit["id"] not in seen and len(unique) < limit:
                seen.add(hit["id"])
                unique.append(hit)
        return self.render("search/_results.html", q=text, hits=unique)

    # --- creating a contact -------------------------------------------------------------

    def create(self, token: str, form: dict[str, str]) -> int:
        """Validate, check duplicates, insert the contact, its channels and its event."""
        from rapport.contacts.emails import normalise_email
        from rapport.contacts.phones import normalise_phone

        user = self.user(token)
        email = normalise_email(form["email-0"])
        phone = normalise_phone(form["phone-0"], self.region)
        q = self.db.execute
        now = str(dt.datetime.now(dt.UTC))
        q("BEGIN IMMEDIATE")
        try:
            duplicate = q(
                "SELECT contact FROM rapport_contact_email WHERE normalized = ? UNION"
                " SELECT contact FROM rapport_contact_phone WHERE e164 = ?",
                (email, phone.e164),
            ).fetchall()
            if duplicate:
                raise ValueError("duplicate")
            name = f"{form['first_name']} {form['last_name']}"
            contact_id = q(
                "INSERT INTO rapport_contact (kind, name, first_name, last_name, company,"
                " position, street, city, region, postcode, country, source, owner, custom,"
                " archived, merged_into, created_at, updated_at) VALUES ('person', ?, ?, ?, NULL,"
                " '', '', '', '', '', '', '', ?, '{}', 0, NULL, ?, ?) RETURNING id",
                (name, form["first_name"], form["last_name"], user["id"], now, now),
            ).fetchone()["id"]
            q(
                "INSERT INTO rapport_contact_email (contact, email, normalized, label)"
                " VALUES (?, ?, ?, 'work')",
                (contact_id, form["email-0"], email),
            )
            q(
                "INSERT INTO rapport_contact_phone (contact, raw, e164, reversed_digits, label)"
                " VALUES (?, ?, ?, ?, 'mobile')",
                (contact_id, phone.raw, phone.e164, phone.reversed_digits),
            )
            q(
                "INSERT INTO rapport_outbox (type, version, key, payload, actor, created_at)"
                " VALUES ('contact.created', 1, ?, ?, ?, ?)",
                (f"contact:{contact_id}", json.dumps({"contact_id": contact_id}), user["id"], now),
            )
            q("COMMIT")
        except BaseException:
            q("ROLLBACK")
            raise
        return contact_id
