from __future__ import annotations

import asyncio

import pytest

from server.circulation.jobs import AnonymiseJob, HoldExpiryJob
from server.db import Database
from server.settings import DatabaseSettings, PrivacySettings, ServerSettings
from tests.circulation.builders import World


@pytest.mark.parametrize("job", [AnonymiseJob, HoldExpiryJob])
def test_circulation_job_runs_and_stops(db: Database, world: World, job: type[AnonymiseJob | HoldExpiryJob]) -> None:
    settings = ServerSettings(
        demo=True, database=DatabaseSettings(url=db.url), privacy=PrivacySettings(anonymise_returned_loans_after_days=0)
    )
    service_job = job(settings, db, interval=0.01)

    async def run() -> None:
        await service_job.start()
        await asyncio.sleep(0.1)
        await service_job.stop()

    asyncio.run(run())
    assert service_job._task is None
