"""The mail sender as a background service of the server process (listed in ``server.runtime``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.db import Database
from server.mail.service import MailSender
from server.settings import MailSettings

log = logging.getLogger(__name__)


class MailJob:
    """Delivers pending mail every ``interval`` seconds, the blocking sender running in a thread."""

    name = "mail-sender"

    def __init__(self, settings: MailSettings, db: Database, *, interval: float = 5.0) -> None:
        self.sender = MailSender(db, settings)
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        while True:
            try:
                report = await asyncio.to_thread(self.sender.deliver_pending)
                if report.sent or report.failed:
                    log.info("mail: %d sent, %d failed (will retry)", report.sent, report.failed)
            except Exception:
                log.exception("mail: delivery round failed; will retry")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
