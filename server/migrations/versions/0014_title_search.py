"""PostgreSQL: titles searched in a narrow table of their own

Revision ID: 0014_title_search
Revises: 0013_title_fulltext

A title search through migration 0013's index read the ``bib_records`` row of every match to return its id: a
catalog row is wide (about five to a page, 400 MB at 250,000 records), so a common word read a page per match,
and most of those pages were outside the server's buffers. ``bib_title_search`` holds one narrow row per record
that is not deleted (its id and the words of ``title_folded``, all of weight A) with a GIN index of the words:
the same matches from a table a tenth the size, about fifty rows to a page. Triggers keep it in step with
``bib_records`` (inserts and deletes by statement, so that a bulk COPY adds its rows in one statement; a change of
title or of ``deleted_at``; TRUNCATE), and it replaces the index of migration 0013. SQLite is unchanged: FTS5
answers a title search from its own index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_title_search"
down_revision: str | Sequence[str] | None = "0013_title_fulltext"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORDS = "setweight(to_tsvector('simple'::regconfig, {row}.title_folded), 'A')"
CHANGED = "(n.title_folded IS DISTINCT FROM o.title_folded OR n.deleted_at IS DISTINCT FROM o.deleted_at)"

# name of each trigger (and of its function): when it fires, and what it does
TRIGGERS = {
    "bib_title_search_inserted": (
        "AFTER INSERT ON bib_records REFERENCING NEW TABLE AS new_rows",
        "INSERT INTO bib_title_search (id, title_vector) "
        f"SELECT n.id, {WORDS.format(row='n')} FROM new_rows AS n WHERE n.deleted_at IS NULL;",
    ),
    "bib_title_search_updated": (
        "AFTER UPDATE ON bib_records REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "DELETE FROM bib_title_search AS s USING old_rows AS o JOIN new_rows AS n ON n.id = o.id "
        f"WHERE s.id = o.id AND {CHANGED}; "
        "INSERT INTO bib_title_search (id, title_vector) "
        f"SELECT n.id, {WORDS.format(row='n')} FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id "
        f"WHERE n.deleted_at IS NULL AND {CHANGED};",
    ),
    "bib_title_search_deleted": (
        "AFTER DELETE ON bib_records REFERENCING OLD TABLE AS old_rows",
        "DELETE FROM bib_title_search WHERE id IN (SELECT id FROM old_rows);",
    ),
    "bib_title_search_truncated": ("AFTER TRUNCATE ON bib_records", "TRUNCATE bib_title_search;"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE bib_title_search (id bigint PRIMARY KEY, title_vector tsvector NOT NULL)")
    op.execute(
        f"INSERT INTO bib_title_search (id, title_vector) SELECT r.id, {WORDS.format(row='r')} "
        "FROM bib_records AS r WHERE r.deleted_at IS NULL ORDER BY r.id"
    )
    op.execute("CREATE INDEX ix_bib_title_search ON bib_title_search USING gin (title_vector)")
    for name, (when, body) in TRIGGERS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"
        )
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
    op.execute("DROP INDEX IF EXISTS ix_bib_title_fulltext")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_bib_title_fulltext ON bib_records"
        " USING gin (to_tsvector('simple'::regconfig, title_folded)) WHERE deleted_at IS NULL"
    )
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON bib_records")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.execute("DROP TABLE IF EXISTS bib_title_search")
