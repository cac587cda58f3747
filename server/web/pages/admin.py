"""Administration: the library tree and its history, staff accounts and roles, the audit log."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.libraries import service as hierarchy
from server.libraries.models import Library
from server.staff.models import Role
from server.staff.service import AccessDenied, Level, PasswordRejected, create_staff, grant_role, staff_in_scope
from server.web.core import PREFIX, NotFoundPage, PostDep, WebDep, redirect

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/libraries", response_class=HTMLResponse)
def library_tree(web: WebDep) -> HTMLResponse:
    scope = web.principal.scope(Level.READ)
    libraries = web.session.scalars(select(Library).where(Library.id.in_(scope)).order_by(Library.id)).all()
    children: dict[int | None, list[Library]] = {}
    for lib in libraries:
        parent = lib.parent_id if lib.parent_id in scope else None
        children.setdefault(parent, []).append(lib)
    ordered: list[tuple[int, Library]] = []

    def walk(parent: int | None, depth: int) -> None:
        for lib in children.get(parent, []):
            ordered.append((depth, lib))
            walk(lib.id, depth + 1)

    walk(None, 0)
    return web.render("libraries.html", ordered=ordered)


@router.get("/libraries/{library_id}", response_class=HTMLResponse)
def library_view(web: WebDep, library_id: int) -> HTMLResponse:
    library = web.session.get(Library, library_id)
    if library is None:
        raise NotFoundPage(f"library {library_id}")
    web.principal.require(library_id, Level.READ, "view_library")
    parents, codes = hierarchy.history(web.session, library_id)
    names = {lib.id: f"{lib.isil} — {lib.name}" for lib in web.session.scalars(select(Library))}
    return web.render("library.html", library=library, parents=parents, codes=codes, names=names,
                      all_libraries=sorted(names.items()), today=dt.date.today().isoformat(),
                      can_change=web.principal.is_system_admin)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise hierarchy.HierarchyError(f"not a valid date: {value!r}") from exc


@router.post("/libraries/{library_id}/move")
def library_move(web: PostDep, library_id: int, parent_id: Annotated[str, Form(max_length=12)],
                 effective: Annotated[str, Form(max_length=10)]) -> Response:
    if not web.principal.is_system_admin:
        raise AccessDenied("move_library", library_id)
    try:
        new_parent = int(parent_id) if parent_id else None
        hierarchy.move_library(web.session, library_id, new_parent, _date(effective),
                               actor_id=str(web.principal.user_id), ip=web.ip)
    except (hierarchy.HierarchyError, ValueError) as exc:
        return web.render("message.html", status_code=400, title=web._("Not saved"), message=str(exc))
    return redirect(f"{PREFIX}/libraries/{library_id}")


@router.post("/libraries/{library_id}/rename")
def library_rename(web: PostDep, library_id: int, name: Annotated[str, Form(max_length=255)],
                   effective: Annotated[str, Form(max_length=10)],
                   code: Annotated[str, Form(max_length=32)] = "") -> Response:
    if not web.principal.is_system_admin:
        raise AccessDenied("rename_library", library_id)
    try:
        hierarchy.rename_library(web.session, library_id, name=name, code=code, effective=_date(effective),
                                 actor_id=str(web.principal.user_id), ip=web.ip)
    except hierarchy.HierarchyError as exc:
        return web.render("message.html", status_code=400, title=web._("Not saved"), message=str(exc))
    return redirect(f"{PREFIX}/libraries/{library_id}")


@router.get("/staff", response_class=HTMLResponse)
def staff_list(web: WebDep) -> HTMLResponse:
    web.principal.require_any(Level.ADMINISTER, "staff_admin")
    libraries = web.session.scalars(
        select(Library).where(Library.id.in_(web.principal.scope(Level.ADMINISTER))).order_by(Library.id)
    ).all()
    names = {lib.id: lib.isil for lib in libraries}
    return web.render("staff.html", accounts=staff_in_scope(web.session, web.principal), libraries=libraries,
                      names=names, roles=[r.value for r in Role])


@router.post("/staff")
def staff_create(
    web: PostDep,
    username: Annotated[str, Form(max_length=64)],
    full_name: Annotated[str, Form(max_length=255)],
    password: Annotated[str, Form(max_length=256)],
    library_id: Annotated[int, Form()],
    role: Annotated[str, Form(max_length=32)],
) -> Response:
    try:
        create_staff(web.session, web.principal, username=username, full_name=full_name, password=password,
                     library_id=library_id, role=Role(role), ip=web.ip)
    except (PasswordRejected, ValueError) as exc:
        return web.render("message.html", status_code=400, title=web._("Not saved"), message=str(exc))
    return redirect(f"{PREFIX}/staff")


@router.post("/staff/{user_id}/grant")
def staff_grant(web: PostDep, user_id: int, library_id: Annotated[int, Form()],
                role: Annotated[str, Form(max_length=32)]) -> Response:
    try:
        grant_role(web.session, web.principal, user_id=user_id, library_id=library_id, role=Role(role), ip=web.ip)
    except ValueError as exc:
        return web.render("message.html", status_code=400, title=web._("Not saved"), message=str(exc))
    return redirect(f"{PREFIX}/staff")


@router.get("/audit", response_class=HTMLResponse)
def audit_log(web: WebDep, action: str = "", offset: int = 0) -> HTMLResponse:
    web.principal.require_any(Level.ADMINISTER, "audit_log")
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if not web.principal.is_system_admin:
        stmt = stmt.where(AuditEntry.library_id.in_(web.principal.scope(Level.ADMINISTER)))
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action[:64]))
    entries = web.session.scalars(stmt.offset(max(offset, 0)).limit(100)).all()
    return web.render("audit.html", entries=entries, action=action, offset=offset)
