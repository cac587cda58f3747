"""Queries over libraries: by ISIL, the tree below a library, and the opening calendar."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.libraries.models import Closure, Library, OpeningDay


def list_libraries(session: Session) -> Sequence[Library]:
    return session.scalars(select(Library).order_by(Library.id)).all()


def get_by_isil(session: Session, isil: str) -> Library | None:
    return session.scalar(select(Library).where(Library.isil == isil))


def subtree_ids(session: Session, library_id: int) -> set[int]:
    """The library and every library below it (a district and its communes)."""
    rows = session.execute(select(Library.id, Library.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for lib_id, parent_id in rows:
        children.setdefault(parent_id, []).append(lib_id)
    found = {library_id}
    stack = [library_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def is_open(session: Session, library_id: int, day: dt.date) -> bool:
    """Whether the library opens on ``day``: an opening weekday that is not a closure."""
    weekday_open = session.get(OpeningDay, (library_id, day.weekday())) is not None
    if not weekday_open:
        return False
    closed = session.scalar(select(Closure.id).where(Closure.library_id == library_id, Closure.day == day))
    return closed is None


def next_opening_day(session: Session, library_id: int, day: dt.date, *, horizon_days: int = 366) -> dt.date:
    """``day`` if the library opens then, otherwise the next day it does (a library with no calendar is
    treated as always open, so due dates never vanish)."""
    weekdays = set(session.scalars(select(OpeningDay.weekday).where(OpeningDay.library_id == library_id)))
    if not weekdays:
        return day
    closures = set(
        session.scalars(
            select(Closure.day).where(
                Closure.library_id == library_id,
                Closure.day >= day,
                Closure.day <= day + dt.timedelta(days=horizon_days),
            )
        )
    )
    for offset in range(horizon_days + 1):
        candidate = day + dt.timedelta(days=offset)
        if candidate.weekday() in weekdays and candidate not in closures:
            return candidate
    return day
