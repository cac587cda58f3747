"""Periodic circulation work inside the server process: removing patron links from old returned loans."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.circulation.service import CirculationService
from server.db import Database
from server.settings import ServerSettings

log = logging.getLogger(__name__)


class AnonymiseJob:
    """Runs :meth:`CirculationService.anonymise_returned_loans` at start and then every ``interval`` seconds."""

    name = "circulation-privacy"

    def __init__(self, settings: ServerSettings, db: Database, *, interval: float = 3600.0) -> None:
        self.service = CirculationService(db, settings)
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        while True:
            try:
                count = await asyncio.to_thread(self.service.anonymise_returned_loans)
                if count:
                    log.info("privacy: %d returned loans no longer name their patron", count)
            except Exception:
                log.exception("privacy: anonymising returned loans failed; will retry")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
