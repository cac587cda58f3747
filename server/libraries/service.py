"""Changes to the library hierarchy over time: moving a library under a new parent from a date, renaming it,
and the tree (parents, names, codes) as it was on any day, so that reports over earlier periods use the old
tree (the 2025 mergers: 63 provinces became 34, district government was abolished).

``Library.parent_id``, ``Library.name`` and ``Library.isil`` always hold today's values; the history lives in
:class:`LibraryParentPeriod` and :class:`LibraryCode`, whose periods are half-open ``[valid_from, valid_to)``.

Exceptions::

    HierarchyError (ValueError)
     ├── UnknownLibrary
     ├── CycleRefused          the new parent is the library itself or below it
     └── DateRefused           the change would start before the period it replaces
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.libraries.models import Library, LibraryCode, LibraryParentPeriod
from server.libraries.repository import subtree_ids

log = logging.getLogger(__name__)


class HierarchyError(ValueError):
    code = "hierarchy_error"


class UnknownLibrary(HierarchyError):
    code = "unknown_library"


class CycleRefused(HierarchyError):
    code = "cycle_refused"


class DateRefused(HierarchyError):
    code = "date_refused"


@dataclass(frozen=True)
class LibraryAt:
    """A library as it was on one day: its parent, name and code then."""

    id: int
    parent_id: int | None
    name: str
    code: str


def _valid_on(valid_from: dt.date, valid_to: dt.date | None, day: dt.date) -> bool:
    return valid_from <= day and (valid_to is None or day < valid_to)


def tree_at(session: Session, day: dt.date) -> dict[int, LibraryAt]:
    """Every library with its parent, name and code on ``day`` (today's values where no history says more)."""
    libraries = session.scalars(select(Library)).all()
    parents: dict[int, int | None] = {lib.id: lib.parent_id for lib in libraries}
    names = {lib.id: lib.name for lib in libraries}
    codes = {lib.id: lib.isil for lib in libraries}
    for period in session.scalars(select(LibraryParentPeriod)):
        if _valid_on(period.valid_from, period.valid_to, day):
            parents[period.library_id] = period.parent_id
    for code in session.scalars(select(LibraryCode).order_by(LibraryCode.valid_from)):
        if _valid_on(code.valid_from, code.valid_to, day):
            codes[code.library_id] = code.code
            if code.name:
                names[code.library_id] = code.name
    return {lib_id: LibraryAt(lib_id, parents[lib_id], names[lib_id], codes[lib_id]) for lib_id in parents}


def subtree_at(session: Session, library_id: int, day: dt.date) -> set[int]:
    """The library and every library below it in the tree as it was on ``day``."""
    tree = tree_at(session, day)
    children: dict[int | None, list[int]] = {}
    for lib in tree.values():
        children.setdefault(lib.parent_id, []).append(lib.id)
    found = {library_id}
    stack = [library_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def move_library(
    session: Session, library_id: int, new_parent_id: int | None, effective: dt.date, *, actor_id: str | None,
    ip: str | None = None,
) -> Library:
    """Put ``library_id`` under ``new_parent_id`` from ``effective`` on; the old parent stays in the history."""
    library = session.get(Library, library_id)
    if library is None:
        raise UnknownLibrary(f"no library {library_id!r}")
    if new_parent_id is not None:
        if session.get(Library, new_parent_id) is None:
            raise UnknownLibrary(f"no library {new_parent_id!r}")
        if new_parent_id in subtree_ids(session, library_id):
            raise CycleRefused(f"library {new_parent_id} is {library_id} itself or below it")
    current = session.scalar(
        select(LibraryParentPeriod).where(
            LibraryParentPeriod.library_id == library_id, LibraryParentPeriod.valid_to.is_(None)
        )
    )
    if current is not None:
        if effective <= current.valid_from:
            raise DateRefused(f"{effective.isoformat()} is not after {current.valid_from.isoformat()}")
        current.valid_to = effective
    session.add(LibraryParentPeriod(library_id=library_id, parent_id=new_parent_id, valid_from=effective))
    old_parent = library.parent_id
    if effective <= dt.date.today():
        library.parent_id = new_parent_id
    record(session, actor_kind="staff", actor_id=actor_id, action="library.moved", target_type="library",
           target_id=library_id, library_id=library_id, ip=ip,
           details={"from_parent": old_parent, "to_parent": new_parent_id, "effective": effective.isoformat()})
    log.info("library %s moved under %s from %s", library_id, new_parent_id, effective)
    return library


def rename_library(
    session: Session, library_id: int, *, name: str, code: str | None, effective: dt.date, actor_id: str | None,
    ip: str | None = None,
) -> Library:
    """Give a library a new name (and optionally a new code) from ``effective``; old codes stay valid before."""
    library = session.get(Library, library_id)
    if library is None:
        raise UnknownLibrary(f"no library {library_id!r}")
    name = name.strip()
    code = (code or "").strip() or None
    if not name or len(name) > 255:
        raise HierarchyError(f"not a valid library name: {name!r}")
    if code is not None and (len(code) > 32 or " " in code):
        raise HierarchyError(f"not a valid library code: {code!r}")
    if code is not None:
        taken = session.scalar(select(Library.id).where(Library.isil == code, Library.id != library_id))
        if taken is not None:
            raise HierarchyError(f"the code {code!r} belongs to another library")
    current = session.scalars(
        select(LibraryCode).where(LibraryCode.library_id == library_id, LibraryCode.valid_to.is_(None))
    ).all()
    for row in current:
        if effective <= row.valid_from:
            raise DateRefused(f"{effective.isoformat()} is not after {row.valid_from.isoformat()}")
    for row in current:
        row.valid_to = effective
    new_code = code or library.isil
    session.add(LibraryCode(library_id=library_id, code=new_code, name=name, valid_from=effective))
    before = {"name": library.name, "code": library.isil}
    if effective <= dt.date.today():
        library.name = name
        library.isil = new_code
    record(session, actor_kind="staff", actor_id=actor_id, action="library.renamed", target_type="library",
           target_id=library_id, library_id=library_id, ip=ip,
           details={"before": before, "after": {"name": name, "code": new_code}, "effective": effective.isoformat()})
    return library


def history(session: Session, library_id: int) -> tuple[list[LibraryParentPeriod], list[LibraryCode]]:
    parents = session.scalars(
        select(LibraryParentPeriod).where(LibraryParentPeriod.library_id == library_id)
        .order_by(LibraryParentPeriod.valid_from)
    ).all()
    codes = session.scalars(
        select(LibraryCode).where(LibraryCode.library_id == library_id).order_by(LibraryCode.valid_from)
    ).all()
    return list(parents), list(codes)


def library_by_code(session: Session, code: str, day: dt.date | None = None) -> Library | None:
    """The library that has (or had, on ``day``) the code ``code``."""
    stmt = select(LibraryCode).where(LibraryCode.code == code)
    if day is not None:
        stmt = stmt.where(
            LibraryCode.valid_from <= day, or_(LibraryCode.valid_to.is_(None), LibraryCode.valid_to > day)
        )
    row = session.scalars(stmt.order_by(LibraryCode.valid_from.desc())).first()
    if row is not None:
        return session.get(Library, row.library_id)
    return session.scalar(select(Library).where(Library.isil == code))
