"""Contact search indexes: FTS5 on SQLite, a tsvector plus trigram indexes on PostgreSQL.

What is indexed per contact, on both engines: its name (plus first and last name when the
display name does not already hold them), the name of its company, and its normalised email
addresses, with prefixes of up to six letters indexed as well (FTS5 ``prefix`` option;
extra lexemes in the PostgreSQL ``tsvector``). Punctuation splits words
(``anna.smith@acme.com`` → ``anna smith acme com``) and ``ё`` is folded to ``е`` so that
``Семен`` finds ``Семён``. Triggers keep the index in step with ``rapport_contact`` and
``rapport_contact_email``; renaming a company re-indexes its people (one indexed lookup per
person). Phones need nothing here: their reversed digits
already have a btree index (migration 0001).

``rapport.contacts.search`` is the only reader; ``reindex_all()`` there repopulates from the
same definitions (the SQLite view and the PostgreSQL function created below).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T21:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contact search"

# --- SQLite ------------------------------------------------------------------------------

# The search document of every contact, computed from the base tables; the triggers and
# the full repopulation both read it, so the document is defined once.
_SQLITE_DOC_VIEW = """
CREATE VIEW rapport_contact_search_doc AS
SELECT
    c.id AS id,
    c.company AS company_id,
    replace(replace(
        coalesce(c.name, '')
        || CASE WHEN instr(coalesce(c.name, ''), coalesce(c.first_name, '')) > 0
                THEN '' ELSE ' ' || c.first_name END
        || CASE WHEN instr(coalesce(c.name, ''), coalesce(c.last_name, '')) > 0
                THEN '' ELSE ' ' || c.last_name END,
        'ё', 'е'), 'Ё', 'Е') AS name,
    coalesce((SELECT replace(replace(co.name, 'ё', 'е'), 'Ё', 'Е')
              FROM rapport_contact co WHERE co.id = c.company), '') AS company,
    coalesce((SELECT replace(group_concat(e.normalized, ' '), 'ё', 'е')
              FROM rapport_contact_email e WHERE e.contact = c.id), '') AS emails
FROM rapport_contact c
"""

_SQLITE_INSERT_ONE = (
    "INSERT INTO rapport_contact_fts(rowid, name, company, emails)"
    " SELECT id, name, company, emails FROM rapport_contact_search_doc WHERE id = {id};"
)


def _sqlite_refresh(contact_id: str) -> str:
    """Trigger body statements that re-index one contact (regular FTS5: delete, insert)."""
    return (
        f"DELETE FROM rapport_contact_fts WHERE rowid = {contact_id}; "
        + _SQLITE_INSERT_ONE.format(id=contact_id)
    )


SQLITE_STATEMENTS = [
    # A regular (content-storing) FTS5 table keyed by rowid = contact id: contentless tables
    # cannot delete rows on SQLite < 3.43. Every word is a prefix query, and FTS5 answers
    # one without a prefix index by merging the document lists of every term that starts
    # with it, however small the LIMIT: "smith"* took 9-15 ms at 1M contacts, 0.3 ms with
    # prefix indexes of 1-6 characters (which cost about 30% more index space).
    "CREATE VIRTUAL TABLE rapport_contact_fts USING fts5("
    "name, company, emails, tokenize = 'unicode61 remove_diacritics 2',"
    " prefix = '1 2 3 4 5 6')",
    _SQLITE_DOC_VIEW,
    "CREATE TRIGGER rapport_contact_fts_insert AFTER INSERT ON rapport_contact BEGIN "
    + _SQLITE_INSERT_ONE.format(id="NEW.id")
    + " END",
    "CREATE TRIGGER rapport_contact_fts_update"
    " AFTER UPDATE OF name, first_name, last_name, company ON rapport_contact"
    " WHEN OLD.name IS NOT NEW.name OR OLD.first_name IS NOT NEW.first_name"
    " OR OLD.last_name IS NOT NEW.last_name OR OLD.company IS NOT NEW.company BEGIN "
    + _sqlite_refresh("NEW.id")
    + " END",
    "CREATE TRIGGER rapport_contact_fts_company_renamed AFTER UPDATE OF name ON rapport_contact"
    " WHEN NEW.kind = 'company' AND OLD.name IS NOT NEW.name BEGIN"
    " DELETE FROM rapport_contact_fts"
    " WHERE rowid IN (SELECT id FROM rapport_contact WHERE company = NEW.id);"
    " INSERT INTO rapport_contact_fts(rowid, name, company, emails)"
    " SELECT id, name, company, emails FROM rapport_contact_search_doc"
    " WHERE company_id = NEW.id;"
    " END",
    "CREATE TRIGGER rapport_contact_fts_delete AFTER DELETE ON rapport_contact BEGIN"
    " DELETE FROM rapport_contact_fts WHERE rowid = OLD.id; END",
    "CREATE TRIGGER rapport_contact_email_fts_insert AFTER INSERT ON rapport_contact_email BEGIN "
    + _sqlite_refresh("NEW.contact")
    + " END",
    "CREATE TRIGGER rapport_contact_email_fts_delete AFTER DELETE ON rapport_contact_email BEGIN "
    + _sqlite_refresh("OLD.contact")
    + " END",
    "CREATE TRIGGER rapport_contact_email_fts_update"
    " AFTER UPDATE OF contact, normalized ON rapport_contact_email BEGIN "
    + _sqlite_refresh("OLD.contact")
    + " "
    + _sqlite_refresh("NEW.contact")
    + " END",
    "INSERT INTO rapport_contact_fts(rowid, name, company, emails)"
    " SELECT id, name, company, emails FROM rapport_contact_search_doc",
]

# --- PostgreSQL --------------------------------------------------------------------------

# ASCII punctuation becomes spaces (so the parser never sees an email or a host name as one
# word) and ё becomes е; the 32 spaces match the 32 punctuation characters.
_PG_TEXT_FUNCTION = (
    "CREATE OR REPLACE FUNCTION rapport_search_text(value text) RETURNS text"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$"
    " SELECT translate(coalesce(value, ''),"
    " '!\"#$%&''()*+,-./:;<=>?@[\\]^_`{|}~ёЁ',"
    " '" + " " * 32 + "еЕ') $$"
)

# Every word of a document together with its prefixes of up to six letters, as plain
# lexemes: a search word of up to six letters is then one exact GIN key (GIN intersects
# those by skipping through the rarest), not a ":*" partial match, which unions every
# entry it covers into a bitmap first ('jone':* & 'an':* took 50-70 ms at 1M contacts).
_PG_LEXEMES_FUNCTION = """
CREATE OR REPLACE FUNCTION rapport_search_lexemes(document text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_to_tsvector(ARRAY(
        SELECT DISTINCT left(word.lexeme, n.n)
        FROM unnest(tsvector_to_array(
                 to_tsvector('simple', rapport_search_text(document)))) AS word(lexeme),
             generate_series(1, length(word.lexeme)) AS n(n)
        WHERE n.n <= 6 OR n.n = length(word.lexeme)))
$$
"""

_PG_DOC_FUNCTION = """
CREATE OR REPLACE FUNCTION rapport_contact_search_doc(
    p_id integer, p_name text, p_first text, p_last text, p_company integer
) RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT rapport_search_lexemes(
        coalesce(p_name, '')
        || CASE WHEN strpos(coalesce(p_name, ''), coalesce(p_first, '')) > 0
                THEN '' ELSE ' ' || p_first END
        || CASE WHEN strpos(coalesce(p_name, ''), coalesce(p_last, '')) > 0
                THEN '' ELSE ' ' || p_last END
        || ' ' || coalesce((SELECT co.name FROM rapport_contact co WHERE co.id = p_company), '')
        || ' ' || coalesce((SELECT string_agg(e.normalized, ' ') FROM rapport_contact_email e
                            WHERE e.contact = p_id), ''))
$$
"""

_PG_CONTACT_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION rapport_contact_search_doc_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_doc := rapport_contact_search_doc(
        NEW.id, NEW.name, NEW.first_name, NEW.last_name, NEW.company);
    RETURN NEW;
END
$$
"""

_PG_COMPANY_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION rapport_contact_company_renamed_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rapport_contact
    SET search_doc = rapport_contact_search_doc(id, name, first_name, last_name, company)
    WHERE company = NEW.id;
    RETURN NULL;
END
$$
"""

_PG_EMAIL_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION rapport_contact_email_search_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE rapport_contact
        SET search_doc = rapport_contact_search_doc(id, name, first_name, last_name, company)
        WHERE id = OLD.contact;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.contact IS DISTINCT FROM OLD.contact) THEN
        UPDATE rapport_contact
        SET search_doc = rapport_contact_search_doc(id, name, first_name, last_name, company)
        WHERE id = NEW.contact;
    END IF;
    RETURN NULL;
END
$$
"""

POSTGRES_STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "ALTER TABLE rapport_contact ADD COLUMN search_doc tsvector",
    _PG_TEXT_FUNCTION,
    _PG_LEXEMES_FUNCTION,
    _PG_DOC_FUNCTION,
    _PG_CONTACT_TRIGGER_FUNCTION,
    _PG_COMPANY_TRIGGER_FUNCTION,
    _PG_EMAIL_TRIGGER_FUNCTION,
    "CREATE TRIGGER rapport_contact_search_doc"
    " BEFORE INSERT OR UPDATE OF name, first_name, last_name, company ON rapport_contact"
    " FOR EACH ROW EXECUTE FUNCTION rapport_contact_search_doc_trg()",
    "CREATE TRIGGER rapport_contact_company_renamed AFTER UPDATE OF name ON rapport_contact"
    " FOR EACH ROW WHEN (NEW.kind = 'company' AND OLD.name IS DISTINCT FROM NEW.name)"
    " EXECUTE FUNCTION rapport_contact_company_renamed_trg()",
    "CREATE TRIGGER rapport_contact_email_search"
    " AFTER INSERT OR DELETE OR UPDATE OF contact, normalized ON rapport_contact_email"
    " FOR EACH ROW EXECUTE FUNCTION rapport_contact_email_search_trg()",
    "UPDATE rapport_contact"
    " SET search_doc = rapport_contact_search_doc(id, name, first_name, last_name, company)",
    "CREATE INDEX rapport_contact_search ON rapport_contact USING gin (search_doc)",
    # Email prefix search compares in byte order whatever the database's collation is.
    'CREATE INDEX rapport_contact_email_prefix ON rapport_contact_email (normalized COLLATE "C")',
    # Email substring search ("@acme.com", "smith@acm") when no address starts with the text.
    "CREATE INDEX rapport_contact_email_trgm ON rapport_contact_email"
    " USING gin (normalized gin_trgm_ops)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="rapport", description=DESCRIPTION)

    async def create_search_indexes():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        statements = SQLITE_STATEMENTS if engine.engine_type == "sqlite" else POSTGRES_STATEMENTS
        for statement in statements:
            await engine.run_ddl(statement)

    manager.add_raw(create_search_indexes)
    return manager
