"""PostgreSQL: MARC records compressed with LZ4

Revision ID: 0012_marc_lz4
Revises: 0011_fts_live_records

A catalog row with its folded texts often passes PostgreSQL's 2 KB TOAST threshold, and the MARC record, its
largest value, is then compressed. With the default pglz that compression was a tenth of the server's work in a
bulk import, and every record served by OAI-PMH or SRU is decompressed again. LZ4 compresses MARC about as well
and several times faster both ways. Rows already stored keep their compression until they are rewritten; a server
built without LZ4 keeps pglz. SQLite is unchanged.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_marc_lz4"
down_revision: str | Sequence[str] | None = "0011_fts_live_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE bib_records ALTER COLUMN marc SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE bib_records ALTER COLUMN marc SET COMPRESSION DEFAULT")


def _lz4_available() -> bool:
    """PostgreSQL 14 or later, built with LZ4 (asked by the one setting that accepts it)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or (bind.dialect.server_version_info or (0,)) < (14,):
        return False
    choices = bind.execute(sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"))
    return "lz4" in (choices.scalar() or [])
