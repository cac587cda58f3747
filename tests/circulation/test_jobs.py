from __future__ import annotations

import asyncio

from server.circulation.jobs import AnonymiseJob
from server.db import Database
from server.settings import DatabaseSettings, PrivacySettings, ServerSettings
from tests.circulation.builders import World


def test_anonymise_job_runs_and_stops(db: Database, world: World) -> None:
    settings = ServerSettings(
        demo=True, database=DatabaseSettings(url=db.url), privacy=PrivacySettings(anonymise_returned_loans_after_days=0)
    )
    service_job = AnonymiseJob(settings, db, interval=0.01)

    async def run() -> None:
        await service_job.start()
        await asyncio.sleep(0.1)
        await service_job.stop()

    asyncio.run(run())
    assert service_job._task is None
