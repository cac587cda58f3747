"""Periodic work inside the server process: a blocking step run in a thread at start and then every interval.

A :class:`PeriodicJob` is a :class:`server.runtime.Service`; a failing round is logged and retried at the next
interval, never ending the loop.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class PeriodicJob(abc.ABC):
    """Subclasses set ``name`` and ``interval`` and implement :meth:`run_once` (blocking; runs in a thread)."""

    name = "job"
    interval = 60.0

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    @abc.abstractmethod
    def run_once(self) -> None:
        """One round of the job's work."""

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("%s: a round failed; will retry", self.name)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
