"""The mail sender as a background service of the server process (listed in ``server.runtime``)."""

from __future__ import annotations

import logging

from server.db import Database
from server.jobs import PeriodicJob
from server.mail.service import MailSender
from server.settings import MailSettings

log = logging.getLogger(__name__)


class MailJob(PeriodicJob):
    """Delivers pending mail every ``interval`` seconds, the blocking sender running in a thread."""

    name = "mail-sender"

    def __init__(self, settings: MailSettings, db: Database, *, interval: float = 5.0) -> None:
        super().__init__()
        self.sender = MailSender(db, settings)
        self.interval = interval

    def run_once(self) -> None:
        report = self.sender.deliver_pending()
        if report.sent or report.failed:
            log.info("mail: %d sent, %d failed (will retry)", report.sent, report.failed)
