"""Schema migrations driven from code (no alembic.ini): upgrade, downgrade, and the start-up check.

The start-up check refuses to run on a database whose schema is missing, older or newer than this code,
with one sentence saying what to do.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from server.db import Database, SchemaMismatch

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "heads") -> None:
    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(db: Database, revision: str = "base") -> None:
    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def code_heads(db: Database) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(db)).get_heads())


def current_revisions(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def check_schema(db: Database) -> None:
    """Raise :class:`SchemaMismatch` unless the database is exactly at this code's schema revision(s)."""
    db.ping()
    current = current_revisions(db)
    heads = code_heads(db)
    if current == heads:
        return
    if not current:
        raise SchemaMismatch("the database has no thuvien schema yet; run `thuvien db upgrade` to create it")
    script = ScriptDirectory.from_config(alembic_config(db))
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = current - known
    if unknown:
        raise SchemaMismatch(
            f"the database schema (revision {', '.join(sorted(unknown))}) is newer than this version of thuvien; "
            "upgrade thuvien, or restore a backup made by this version"
        )
    raise SchemaMismatch(
        f"the database schema (revision {', '.join(sorted(current))}) is older than this version of thuvien "
        f"expects ({', '.join(sorted(heads))}); run `thuvien db upgrade`"
    )


def ensure_schema(db: Database, *, auto_migrate: bool) -> None:
    """Upgrade when allowed, then check; the server calls this before it serves anything."""
    if auto_migrate:
        db.ping()
        upgrade(db)
    check_schema(db)
