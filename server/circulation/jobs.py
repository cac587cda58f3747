"""Periodic circulation work inside the server process: removing patron links from old returned loans, and closing
holds whose date has passed."""

from __future__ import annotations

import logging

from server.circulation.service import CirculationService
from server.db import Database
from server.jobs import PeriodicJob
from server.settings import ServerSettings

log = logging.getLogger(__name__)


class AnonymiseJob(PeriodicJob):
    """Runs :meth:`CirculationService.anonymise_returned_loans` at start and then every ``interval`` seconds."""

    name = "circulation-privacy"

    def __init__(self, settings: ServerSettings, db: Database, *, interval: float = 3600.0) -> None:
        super().__init__()
        self.service = CirculationService(db, settings)
        self.interval = interval

    def run_once(self) -> None:
        count = self.service.anonymise_returned_loans()
        if count:
            log.info("privacy: %d returned loans no longer name their patron", count)


class HoldExpiryJob(PeriodicJob):
    """Runs :meth:`CirculationService.expire_lapsed_holds` at start and then every ``interval`` seconds."""

    name = "circulation-holds"

    def __init__(self, settings: ServerSettings, db: Database, *, interval: float = 900.0) -> None:
        super().__init__()
        self.service = CirculationService(db, settings)
        self.interval = interval

    def run_once(self) -> None:
        self.service.expire_lapsed_holds()
