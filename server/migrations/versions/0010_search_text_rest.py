"""search_text: only the words the title, author and subject columns do not already hold

Revision ID: 0010_search_text_rest
Revises: 0004_catalog

``search_text`` held every folded word of a record, so the full-text indexes (SQLite FTS5, PostgreSQL's
weighted ``tsvector``) indexed the title, authors and subjects twice. It now holds the publisher and the
standard numbers only; matching is unchanged (a search over all fields reads every column). The rows are
rewritten here; the triggers (SQLite) and the generated column (PostgreSQL) follow.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from server.catalog.folding import fold

revision: str = "0010_search_text_rest"
down_revision: str | Sequence[str] | None = "0004_catalog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    _rewrite(lambda row, numbers: fold(" ".join([row.publisher, *numbers])))


def downgrade() -> None:
    _rewrite(
        lambda row, numbers: fold(
            " ".join([row.title, *row.authors.split(" ; "), *row.subjects.split(" ; "), row.publisher, *numbers])
        )
    )


def _rewrite(text_of: Callable[[sa.Row[tuple[int, str, str, str, str]], list[str]], str]) -> None:
    bind = op.get_bind()
    numbers: defaultdict[int, list[str]] = defaultdict(list)
    for record_id, value in bind.execute(sa.text("SELECT record_id, value FROM bib_identifiers ORDER BY id")):
        numbers[record_id].append(value)
    select = sa.text(
        "SELECT id, title, authors, subjects, publisher FROM bib_records WHERE id > :last ORDER BY id LIMIT :n"
    )
    update = sa.text("UPDATE bib_records SET search_text = :text WHERE id = :id AND search_text <> :text")
    last = 0
    while rows := bind.execute(select, {"last": last, "n": BATCH}).all():
        bind.execute(update, [{"id": row.id, "text": text_of(row, numbers[row.id])} for row in rows])
        last = rows[-1].id
