"""The record of the commands a device has run, kept in the outbox's SQLite file so that it survives restarts.

A command id runs at most once: :meth:`CommandLog.begin` commits a *started* row before the command runs and
:meth:`CommandLog.finish` stores its result. A redelivery (a QoS 1 resend, a retained command after a restart,
a republish) finds the row and gets the recorded result again instead of a second run. A row without a result
means the agent died while the command ran; it is not run again (a half-written tag or a repeated mode change is
worse than a refusal): the answer is a failure saying so, recorded like any other result.

Rows are kept ``keep_after_expiry`` past their command's ``expires_at`` and then deleted. That bound is safe: a
command past its expiry is refused anyway, so a forgotten id can never run twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import time

from edge.contract import Command, CommandResult, decode, encode
from edge.outbox import Outbox

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted: the agent stopped while this command ran; it is not run again"


class CommandLog:
    """Executed command ids and their results, beside the outbox's events (same file, same lock)."""

    def __init__(self, outbox: Outbox, *, keep_after_expiry: dt.timedelta = dt.timedelta(days=7)) -> None:
        self.outbox = outbox
        self.keep_after_expiry = keep_after_expiry
        with outbox.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS commands_done ("
                " command_id TEXT PRIMARY KEY,"
                " name TEXT NOT NULL,"
                " expires_at REAL NOT NULL,"
                " started REAL NOT NULL,"
                " result BLOB)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS commands_done_expiry ON commands_done (expires_at)")
        self.prune()

    def begin(self, command: Command, device_id: str) -> CommandResult | None:
        """None when ``command`` is new (it is now recorded as started: run it, then :meth:`finish`);
        otherwise the result recorded for its id, to send again."""
        with self.outbox.transaction() as conn:
            row = conn.execute(
                "SELECT result FROM commands_done WHERE command_id = ?", (command.command_id,)
            ).fetchone()
            if row is None:
                self._prune(conn)
                conn.execute(
                    "INSERT INTO commands_done (command_id, name, expires_at, started) VALUES (?, ?, ?, ?)",
                    (command.command_id, command.name, command.expires_at.timestamp(), time.time()),
                )
                return None
            if row[0] is not None:
                return decode(CommandResult, bytes(row[0]))
            log.warning("command %s (%s) was interrupted by a restart; not run again", command.name,
                        command.command_id)
            result = CommandResult(command_id=command.command_id, device_id=device_id, ok=False,
                                   at=dt.datetime.now(dt.UTC), error=INTERRUPTED)
            conn.execute("UPDATE commands_done SET result = ? WHERE command_id = ?",
                         (encode(result), command.command_id))
            return result

    def finish(self, result: CommandResult) -> None:
        with self.outbox.transaction() as conn:
            conn.execute("UPDATE commands_done SET result = ? WHERE command_id = ?",
                         (encode(result), result.command_id))

    def prune(self) -> int:
        """Delete the records of commands expired longer than ``keep_after_expiry`` ago; how many."""
        with self.outbox.transaction() as conn:
            return self._prune(conn)

    def _prune(self, conn: sqlite3.Connection) -> int:
        cutoff = time.time() - self.keep_after_expiry.total_seconds()
        return conn.execute("DELETE FROM commands_done WHERE expires_at < ?", (cutoff,)).rowcount
