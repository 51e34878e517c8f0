"""The search box: one query string finds contacts by name, company, email or phone.

The query is classified once and takes exactly one indexed path:

* **email** — it contains ``@``: addresses that start with the text (the exact address sorts
  first), as a range on the normalised address; when none does, addresses that contain it
  (the FTS5 ``emails`` column on SQLite, a trigram index on PostgreSQL), so ``@acme.com``
  finds everyone at Acme.
* **phone** — only digits and phone punctuation, at least four digits: the E.164 form of the
  number in the instance's region (so ``8 912 345-67-89`` finds ``+79123456789``) by
  equality, and the typed digits as a suffix — a prefix range on the reversed digits
  (``345-67-89``, ``6789``). When no phone matches, the digits are tried as words.
* **name** — everything else: the text is split into words by this module (letters and
  digits only, so quotes and operators such as ``AND``, ``NEAR(``, ``*``, ``^`` or ``-``
  are plain words), every word must start a word of the contact's name, its company's name
  or its email addresses, in any order. FTS5 ``MATCH`` with prefix indexes on SQLite; on
  PostgreSQL a GIN index over a ``tsvector`` that also holds each word's prefixes (so a
  short word is one exact key), ``:*`` only for words longer than those prefixes.

Ordering never ranks the whole match set: each path fetches a bounded candidate set in index
order and orders that in Python (exact name first, then names that start with the query,
then by name and id). On a broad query the candidates are the first ones in index order
(contact id on SQLite), so results are deterministic but not a global best-of.

The index itself (migration ``rapport_0003_search``) holds name, company name and emails per
contact and is kept current by triggers; renaming a company re-indexes its people in the
same statement. ``ё`` and ``е`` are one letter for search. SQLite also ignores Latin
diacritics (``jose`` finds ``José``); PostgreSQL's ``simple`` configuration does not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rapport.contacts.phones import digits, try_normalise
from rapport.contacts.tables import Contact
from rapport.db.current import is_sqlite
from rapport.db.statements import Statement
from rapport.db.transaction import transaction
from rapport.runtime import current

MAX_QUERY_CHARS = 200  # longer input is cut: nobody types more into a search box
MAX_TOKENS = 8  # every word is one more index probe
MAX_TOKEN_CHARS = 64
MAX_LIMIT = 100
CANDIDATE_FACTOR = 3  # name candidates fetched per wanted hit, to order them
MIN_CANDIDATES = 50
PREFIX_INDEX_MAX = 6  # the longest indexed prefix on both engines (migration rapport_0003)
MIN_SUFFIX_DIGITS = 4
REVERSED_DIGITS_WIDTH = 20  # the column's length: the longest reversed number stored
MIN_SUBSTRING_CHARS = 3  # a trigram index cannot narrow anything shorter

_WORD = re.compile(r"[^\W_]+")
_MARKS = re.compile(r"[\u0300-\u036f]")  # combining diacritical marks
_PHONE_LIKE = re.compile(r"\+?[\d\s().\-/]+")

_SELECT = (
    "SELECT c.id AS id, c.kind AS kind, c.name AS name, c.first_name AS first_name,"
    " c.last_name AS last_name, c.company AS company_id, co.name AS company_name,"
    " c.archived AS archived"
)
_JOIN_COMPANY = " LEFT JOIN rapport_contact co ON co.id = c.company"


def _driven_by(table: str, contact_key: str) -> str:
    """``FROM`` an index-searched table, then its contacts by primary key.

    ``CROSS JOIN`` pins that order on SQLite, whose planner (without ``ANALYZE`` statistics)
    otherwise walks every unarchived contact and probes the search index once per row;
    PostgreSQL treats it as a plain inner join. The caller appends ``AND`` conditions.
    """
    return f" FROM {table} CROSS JOIN rapport_contact c{_JOIN_COMPANY} WHERE c.id = {contact_key}"


@dataclass(frozen=True)
class _Scope:
    """Which contacts the caller may get: an SQL condition on ``c`` and its arguments."""

    include_archived: bool
    visible_to: int | None

    @property
    def sql(self) -> str:
        parts = []
        if not self.include_archived:
            parts.append(" AND c.archived = {}")
        if self.visible_to is not None:
            parts.append(" AND (c.owner = {} OR c.owner IS NULL)")
        return "".join(parts)

    @property
    def args(self) -> list[Any]:
        args: list[Any] = []
        if not self.include_archived:
            args.append(False)
        if self.visible_to is not None:
            args.append(self.visible_to)
        return args


async def search_contacts(
    query: str,
    *,
    limit: int = 20,
    include_archived: bool = False,
    visible_to: int | None = None,
) -> list[dict[str, Any]]:
    """Contacts matching what a user typed into the search box, best first.

    ``visible_to`` is a user id: only contacts that user owns or that have no owner are
    returned. Each hit holds ``id``, ``kind``, ``name``, ``company_id``, ``company_name``,
    ``archived``, ``matched`` (``"name"``, ``"email"`` or ``"phone"``; a company's name counts
    as ``"name"``) and ``email`` / ``phone``: the normalised address or E.164 number that
    matched, else None. Never raises on what the user typed.
    """
    text = _printable(query or "")[:MAX_QUERY_CHARS].strip()
    limit = min(int(limit), MAX_LIMIT)
    if not text or limit <= 0:
        return []
    scope = _Scope(include_archived, visible_to)
    if "@" in text:
        return await _search_email(text, limit, scope)
    if _looks_like_phone(text):
        hits = await _search_phone(text, limit, scope)
        if hits:
            return hits
    return await _search_names(text, limit, scope)


async def reindex_all() -> None:
    """Rebuild every contact's search document, e.g. after a bulk import without triggers."""
    async with transaction():
        if is_sqlite():
            await Contact.raw("DELETE FROM rapport_contact_fts")
            await Contact.raw(
                "INSERT INTO rapport_contact_fts(rowid, name, company, emails)"
                " SELECT id, name, company, emails FROM rapport_contact_search_doc"
            )
            await Contact.raw(
                "INSERT INTO rapport_contact_fts(rapport_contact_fts) VALUES ('optimize')"
            )
        else:
            await Contact.raw(
                "UPDATE rapport_contact SET search_doc ="
                " rapport_contact_search_doc(id, name, first_name, last_name, company)"
            )


def _printable(text: str) -> str:
    """Control characters and lone surrogates as spaces: neither database accepts a NUL or
    an unpaired surrogate in a parameter, and no name or address holds one."""
    return "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cs") else ch
        for ch in text[: MAX_QUERY_CHARS * 2]
    )


# --- words ---------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Case and ``ё`` folded the way the index folds them (see the migration)."""
    return unicodedata.normalize("NFC", text).lower().replace("ё", "е")


def search_tokens(text: str) -> list[str]:
    """The words of ``text`` as the index sees them: letters and digits only, folded.

    Everything else separates words, so no character the user types can reach the full-text
    query syntax of either engine.
    """
    words = _WORD.findall(fold(text))
    return [w[:MAX_TOKEN_CHARS] for w in words[:MAX_TOKENS]]


def _fts5_query(tokens: Iterable[str]) -> str:
    """``"anna"* AND "acme"*``: every token quoted (it holds no quote) and used as a prefix."""
    return " AND ".join(f'"{token}"*' for token in tokens)


def _tsquery(tokens: Iterable[str]) -> str:
    """``'anna' & 'alexandr':*`` for ``to_tsquery('simple', …)``; tokens hold no quote.

    The PostgreSQL document holds every prefix of up to ``PREFIX_INDEX_MAX`` letters as a
    lexeme of its own, so only longer words need a (costlier) ``:*`` prefix match.
    """
    return " & ".join(
        f"'{token}'" if len(token) <= PREFIX_INDEX_MAX else f"'{token}':*" for token in tokens
    )


def _plain(text: str) -> str:
    """Folded and without combining marks, as close to FTS5's ``remove_diacritics`` as
    Python checks of a handful of rows need; ASCII text takes the fast path."""
    folded = fold(text)
    if folded.isascii():
        return folded
    return _MARKS.sub("", unicodedata.normalize("NFKD", folded))


def _starts_any(words: list[str], token: str) -> bool:
    return any(word.startswith(token) for word in words)


# --- hits ----------------------------------------------------------------------------------


def _hit(
    row: dict[str, Any], matched: str, *, email: str | None = None, phone: str | None = None
) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "name": row["name"],
        "company_id": row["company_id"],
        "company_name": row["company_name"],
        "archived": bool(row["archived"]),
        "matched": matched,
        "email": email,
        "phone": phone,
    }


def _unique(hits: Iterable[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """First hit per contact, in order, at most ``limit``."""
    seen: set[int] = set()
    result = []
    for hit in hits:
        if hit["id"] in seen:
            continue
        seen.add(hit["id"])
        result.append(hit)
        if len(result) == limit:
            break
    return result


def _candidates(limit: int) -> int:
    """Rows fetched for a name search: enough to put exact names first."""
    return max(limit * CANDIDATE_FACTOR, MIN_CANDIDATES)


def _channel_rows(limit: int) -> int:
    """Rows fetched for an email or phone search: room for a contact matched twice."""
    return limit * 2


def _name_order(row: dict[str, Any], tokens: list[str]) -> tuple[int, str, int]:
    """Exact name (any word order) first, then names starting with the query, then A-Z."""
    words = search_tokens(row["name"] or "")
    joined = " ".join(words)
    if sorted(words) == sorted(tokens):
        tier = 0
    elif joined.startswith(" ".join(tokens)):
        tier = 1
    else:
        tier = 2
    return tier, joined, row["id"]


def _words(text: str) -> list[str]:
    """Every word of ``text``, folded and without diacritics, for checks done in Python."""
    return _WORD.findall(_plain(text))


def _name_words(row: dict[str, Any]) -> list[str]:
    keys = ("name", "first_name", "last_name", "company_name")
    return _words(" ".join(row[key] or "" for key in keys))


def _has_all(row: dict[str, Any], plain_tokens: list[str]) -> bool:
    """Whether every token starts a word of the contact's names or email addresses."""
    keys = ("name", "first_name", "last_name", "company_name", "emails")
    text = " " + " ".join(_words(" ".join(row[key] or "" for key in keys)))
    return all(" " + token in text for token in plain_tokens)


def _classify(row: dict[str, Any], tokens: list[str]) -> tuple[str, str | None]:
    """Whether a full-text hit matched on the name (or company) or on an email address."""
    words = _name_words(row)
    missing = [t for t in map(_plain, tokens) if not _starts_any(words, t)]
    if not missing:
        return "name", None
    for email in (row.get("emails") or "").split():
        email_words = _words(email)
        if any(_starts_any(email_words, t) for t in missing):
            return "email", email
    return "name", None


# --- names ---------------------------------------------------------------------------------


async def _search_names(text: str, limit: int, scope: _Scope) -> list[dict[str, Any]]:
    tokens = search_tokens(text)
    if not tokens:
        return []
    wanted = _candidates(limit)
    if is_sqlite():
        rows = await _fts5_candidates(tokens, scope, wanted)
    else:
        sql = (
            _SELECT + ", (SELECT string_agg(e.normalized, ' ') FROM rapport_contact_email e"
            " WHERE e.contact = c.id) AS emails"
            " FROM rapport_contact c"
            + _JOIN_COMPANY
            + " WHERE c.search_doc @@ to_tsquery('simple', {})"
            + scope.sql
            + " LIMIT {}"
        )
        rows = await Statement(sql).fetch(_tsquery(tokens), *scope.args, wanted)
    rows.sort(key=lambda row: _name_order(row, tokens))
    hits = []
    for row in rows[:limit]:
        matched, email = _classify(row, tokens)
        hits.append(_hit(row, matched, email=email))
    return hits


async def _fts5_candidates(tokens: list[str], scope: _Scope, wanted: int) -> list[dict[str, Any]]:
    """Up to ``wanted`` contacts having every token as a word prefix, in contact id order.

    FTS5 answers a prefix query that has no prefix index by merging the lists of every term
    that starts with it, whatever the LIMIT: about 10 ms for a common surname at 1M
    contacts. So words longer than the longest prefix index are first probed by that prefix
    (streamed from the index, cheap) and the candidates checked in Python; only when the
    probe leaves the answer open (its candidates mostly fail the check: the long word is
    rare, so expanding it is cheap) is the exact prefix query run.
    """
    sql = (
        _SELECT
        + ", rapport_contact_fts.emails AS emails"
        + _driven_by("rapport_contact_fts", "rapport_contact_fts.rowid")
        + " AND rapport_contact_fts MATCH {}"
        + scope.sql
        + " ORDER BY rapport_contact_fts.rowid LIMIT {}"
    )
    if all(len(token) <= PREFIX_INDEX_MAX for token in tokens):
        return await Statement(sql).fetch(_fts5_query(tokens), *scope.args, wanted)
    probes = dict.fromkeys(token[:PREFIX_INDEX_MAX] for token in tokens)
    rows = await Statement(sql).fetch(_fts5_query(probes), *scope.args, wanted)
    plain_tokens = [_plain(token) for token in tokens]
    checked = [row for row in rows if _has_all(row, plain_tokens)]
    if len(checked) >= wanted or len(rows) < wanted:
        return checked[:wanted]
    return await Statement(sql).fetch(_fts5_query(tokens), *scope.args, wanted)


# --- email ---------------------------------------------------------------------------------


def _prefix_end(prefix: str) -> str:
    """The smallest string above every string starting with ``prefix`` (code point order)."""
    last = ord(prefix[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # surrogates cannot be stored: skip past them
        last = 0xE000
    if last > 0x10FFFF:
        return prefix + "\U0010ffff"
    return prefix[:-1] + chr(last)


async def _search_email(text: str, limit: int, scope: _Scope) -> list[dict[str, Any]]:
    needle = "".join(text.split()).lower()
    hits = await _emails_starting_with(needle, limit, scope)
    if not hits:
        hits = await _emails_containing(needle, limit, scope)
    return hits


async def _emails_starting_with(needle: str, limit: int, scope: _Scope) -> list[dict[str, Any]]:
    # Byte order on both engines: SQLite's BINARY collation, an explicit "C" on PostgreSQL
    # (backed by its own index), so the range is exactly "starts with" whatever the locale.
    column = "e.normalized" if is_sqlite() else 'e.normalized COLLATE "C"'
    sql = (
        _SELECT
        + ", e.normalized AS matched_email"
        + _driven_by("rapport_contact_email e", "e.contact")
        + f" AND {column} >= {{}} AND {column} < {{}}"
        + scope.sql
        + f" ORDER BY {column}, c.id LIMIT {{}}"
    )
    rows = await Statement(sql).fetch(
        needle, _prefix_end(needle), *scope.args, _channel_rows(limit)
    )
    return _unique((_hit(r, "email", email=r["matched_email"]) for r in rows), limit)


async def _emails_containing(needle: str, limit: int, scope: _Scope) -> list[dict[str, Any]]:
    if is_sqlite():
        tokens = search_tokens(needle)
        if not tokens:
            return []
        # A phrase of the address's words, the last one a prefix: "smith@acm" → "smith acm"*.
        sql = (
            _SELECT
            + ", rapport_contact_fts.emails AS emails"
            + _driven_by("rapport_contact_fts", "rapport_contact_fts.rowid")
            + " AND rapport_contact_fts MATCH {}"
            + scope.sql
            + " ORDER BY rapport_contact_fts.rowid LIMIT {}"
        )
        match = 'emails : "' + " ".join(tokens) + '"*'
        rows = await Statement(sql).fetch(match, *scope.args, _candidates(limit))
        pairs = [(row, _email_containing(row["emails"], tokens)) for row in rows]
    else:
        if len(needle) < MIN_SUBSTRING_CHARS:
            return []
        sql = (
            _SELECT
            + ", e.normalized AS matched_email"
            + _driven_by("rapport_contact_email e", "e.contact")
            + " AND e.normalized LIKE {} ESCAPE '\\'"
            + scope.sql
            + " LIMIT {}"
        )
        pattern = "%" + _escape_like(needle) + "%"
        rows = await Statement(sql).fetch(pattern, *scope.args, _candidates(limit))
        pairs = [(row, row["matched_email"]) for row in rows]
    pairs.sort(key=lambda pair: (search_tokens(pair[0]["name"] or ""), pair[0]["id"]))
    return _unique((_hit(row, "email", email=email) for row, email in pairs), limit)


def _email_containing(emails: str | None, tokens: list[str]) -> str | None:
    """Which of a contact's space-separated addresses holds the searched words."""
    addresses = (emails or "").split()
    for address in addresses:
        words = _WORD.findall(fold(address))
        if all(_starts_any(words, token) for token in tokens):
            return address
    return addresses[0] if addresses else None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- phone ---------------------------------------------------------------------------------


def _looks_like_phone(text: str) -> bool:
    return bool(_PHONE_LIKE.fullmatch(text)) and len(digits(text)) >= MIN_SUFFIX_DIGITS


def _phone_select(tier: int, sort_column: str) -> str:
    return (
        _SELECT
        + f", p.e164 AS matched_phone, {sort_column} AS sort_key, {tier} AS tier"
        + _driven_by("rapport_contact_phone p", "p.contact")
    )


def _digit_range(prefix: str) -> tuple[str, str]:
    """Bounds holding exactly the digit strings (up to the column width) that start with
    ``prefix``: it, and it padded with nines. True in any collation, no carry needed."""
    return prefix, prefix + "9" * (REVERSED_DIGITS_WIDTH - len(prefix))


async def _search_phone(text: str, limit: int, scope: _Scope) -> list[dict[str, Any]]:
    """Exact E.164 matches first, then numbers that end with the typed digits — or, for a
    number typed from its ``+``, numbers that start with them (search as you type)."""
    e164 = try_normalise(text, current().settings.phone_region)
    typed = digits(text)[: REVERSED_DIGITS_WIDTH - 1]
    fetch = _channel_rows(limit)
    branches: list[str] = []
    args: list[Any] = []
    if e164 is not None:
        branches.append(
            "SELECT * FROM ("
            + _phone_select(0, "p.e164")
            + " AND p.e164 = {}"
            + scope.sql
            + " LIMIT {}) AS exact_hits"
        )
        args += [e164, *scope.args, fetch]
    if text.startswith("+"):
        column, bounds = "p.e164", _digit_range("+" + typed)
    else:
        column, bounds = "p.reversed_digits", _digit_range(typed[::-1])
    branches.append(
        "SELECT * FROM ("
        + _phone_select(1, column)
        + f" AND {column} >= {{}} AND {column} <= {{}}"
        + scope.sql
        + f" ORDER BY {column}, c.id LIMIT {{}}) AS partial_hits"
    )
    args += [*bounds, *scope.args, fetch]
    rows = await Statement(" UNION ALL ".join(branches)).fetch(*args)
    rows.sort(key=lambda row: (row["tier"], row["sort_key"], row["id"]))
    return _unique((_hit(r, "phone", phone=r["matched_phone"]) for r in rows), limit)
