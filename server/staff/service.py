"""Staff accounts: login with lockout, password change, and what a signed-in person may see and change.

A role is granted in one library and reaches every library below it (``subtree_ids``). Roles are ordered:
system administrator > library administrator > librarian > read-only. Every decision that refuses
something raises; the web layer maps each error to a page in one place.

Exceptions::

    StaffError
     ├── LoginFailed            unknown user, wrong password, inactive account
     ├── AccountLocked          too many failed logins; ``until`` says when it opens again
     ├── PasswordRejected       the new password does not meet the policy, or the old one is wrong
     └── AccessDenied           the role or the library scope does not allow it (``what``, ``library_id``)
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from enum import IntEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.db import utcnow
from server.libraries.repository import subtree_ids
from server.security import hash_secret, needs_rehash, verify_secret
from server.staff.models import Role, StaffRole, StaffUser

log = logging.getLogger(__name__)

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 10


class StaffError(Exception):
    """Base of the staff errors; ``code`` is stable for logs and pages."""

    code = "staff_error"


class LoginFailed(StaffError):
    code = "login_failed"


class AccountLocked(StaffError):
    code = "account_locked"

    def __init__(self, until: dt.datetime) -> None:
        self.until = until
        super().__init__(f"account locked until {until.isoformat()}")


class PasswordRejected(StaffError):
    code = "password_rejected"


class AccessDenied(StaffError):
    code = "access_denied"

    def __init__(self, what: str, library_id: int | None = None) -> None:
        self.what = what
        self.library_id = library_id
        super().__init__(f"not allowed: {what}" + (f" in library {library_id}" if library_id is not None else ""))


class Level(IntEnum):
    """What a role may do, in increasing order."""

    READ = 1
    CIRCULATE = 2
    ADMINISTER = 3
    SYSTEM = 4


ROLE_LEVEL = {
    Role.READ_ONLY: Level.READ,
    Role.LIBRARIAN: Level.CIRCULATE,
    Role.LIBRARY_ADMIN: Level.ADMINISTER,
    Role.SYSTEM_ADMIN: Level.SYSTEM,
}


@dataclass
class Principal:
    """A signed-in staff member and, per library in their scope, the highest level they hold there."""

    user_id: int
    username: str
    full_name: str
    language: str
    levels: dict[int, Level] = field(default_factory=dict)
    home_library_ids: list[int] = field(default_factory=list)

    @property
    def top_level(self) -> Level | None:
        return max(self.levels.values(), default=None)

    @property
    def is_system_admin(self) -> bool:
        return self.top_level == Level.SYSTEM

    def scope(self, minimum: Level = Level.READ) -> set[int]:
        """The libraries where this person holds at least ``minimum``."""
        return {lib for lib, level in self.levels.items() if level >= minimum}

    def allows(self, library_id: int | None, minimum: Level) -> bool:
        if library_id is None:
            return self.top_level is not None and self.top_level >= minimum and self.is_system_admin
        return self.levels.get(library_id, 0) >= minimum

    def require(self, library_id: int | None, minimum: Level, what: str) -> None:
        if not self.allows(library_id, minimum):
            raise AccessDenied(what, library_id)

    def require_any(self, minimum: Level, what: str) -> None:
        if not self.scope(minimum):
            raise AccessDenied(what)


def load_principal(session: Session, user_id: int) -> Principal | None:
    """The principal for an active account, or None when the account is gone or disabled."""
    user = session.get(StaffUser, user_id)
    if user is None or not user.active:
        return None
    principal = Principal(user.id, user.username, user.full_name, user.language)
    grants = session.execute(select(StaffRole.library_id, StaffRole.role).where(StaffRole.user_id == user.id)).all()
    for library_id, role in grants:
        level = ROLE_LEVEL[Role(role)]
        principal.home_library_ids.append(library_id)
        for lib in subtree_ids(session, library_id):
            if principal.levels.get(lib, 0) < level:
                principal.levels[lib] = level
    return principal


def authenticate(
    session: Session, username: str, password: str, *, ip: str | None = None, now: dt.datetime | None = None
) -> StaffUser:
    """Check a login; counts failures and locks the account after :data:`MAX_FAILED_LOGINS` in a row."""
    now = now or utcnow()
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
    if user is None or not user.active:
        # Hash anyway so that unknown and known names take the same time.
        verify_secret(_DUMMY_HASH(), password)
        record(session, actor_kind="staff", actor_id=None, action="staff.login_failed",
               details={"username": username[:64], "reason": "unknown"}, ip=ip)
        raise LoginFailed(username)
    if user.locked_until is not None and user.locked_until > now:
        record(session, actor_kind="staff", actor_id=str(user.id), action="staff.login_refused_locked", ip=ip)
        raise AccountLocked(user.locked_until)
    if not verify_secret(user.password_hash, password):
        user.failed_logins += 1
        details: dict[str, object] = {"failed_logins": user.failed_logins}
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
            details["locked_until"] = user.locked_until.isoformat()
            log.warning("staff account %s locked after repeated failed logins", user.username)
        record(session, actor_kind="staff", actor_id=str(user.id), action="staff.login_failed", details=details, ip=ip)
        if user.locked_until is not None and user.locked_until > now:
            raise AccountLocked(user.locked_until)
        raise LoginFailed(username)
    user.failed_logins = 0
    user.locked_until = None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_secret(password)
    record(session, actor_kind="staff", actor_id=str(user.id), action="staff.login", ip=ip)
    return user


_dummy: list[str] = []


def _DUMMY_HASH() -> str:  # noqa: N802 - a lazily computed constant
    if not _dummy:
        _dummy.append(hash_secret("not-a-real-password"))
    return _dummy[0]


def check_password_policy(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(f"too_short:{MIN_PASSWORD_LENGTH}")
    if username and username.casefold() in password.casefold():
        raise PasswordRejected("contains_username")


def change_password(
    session: Session, user_id: int, old: str, new: str, *, ip: str | None = None
) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise LoginFailed(str(user_id))
    if not verify_secret(user.password_hash, old):
        record(session, actor_kind="staff", actor_id=str(user.id), action="staff.password_change_refused", ip=ip)
        raise PasswordRejected("wrong_old_password")
    check_password_policy(new, user.username)
    user.password_hash = hash_secret(new)
    user.password_changed_at = utcnow()
    record(session, actor_kind="staff", actor_id=str(user.id), action="staff.password_changed",
           target_type="staff", target_id=user.id, ip=ip)
    return user


def set_language(session: Session, user_id: int, language: str) -> None:
    user = session.get(StaffUser, user_id)
    if user is not None and language in ("vi", "en"):
        user.language = language


def grant_role(
    session: Session, principal: Principal, *, user_id: int, library_id: int, role: Role, ip: str | None = None
) -> StaffRole:
    """Give ``role`` in ``library_id``; only an administrator of that library, never above their own level."""
    principal.require(library_id, Level.ADMINISTER, "grant_role")
    if ROLE_LEVEL[role] > principal.levels.get(library_id, Level.READ):
        raise AccessDenied("grant_higher_role", library_id)
    grant = StaffRole(user_id=user_id, library_id=library_id, role=role)
    session.add(grant)
    record(session, actor_kind="staff", actor_id=str(principal.user_id), action="staff.role_granted",
           target_type="staff", target_id=user_id, library_id=library_id, details={"role": role.value}, ip=ip)
    return grant


def create_staff(
    session: Session,
    principal: Principal,
    *,
    username: str,
    full_name: str,
    password: str,
    library_id: int,
    role: Role,
    ip: str | None = None,
) -> StaffUser:
    principal.require(library_id, Level.ADMINISTER, "create_staff")
    username = username.strip()
    if not username or len(username) > 64:
        raise PasswordRejected("bad_username")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise PasswordRejected("username_taken")
    check_password_policy(password, username)
    user = StaffUser(username=username, full_name=full_name.strip()[:255], password_hash=hash_secret(password))
    session.add(user)
    session.flush()
    record(session, actor_kind="staff", actor_id=str(principal.user_id), action="staff.created",
           target_type="staff", target_id=user.id, library_id=library_id, details={"username": username}, ip=ip)
    grant_role(session, principal, user_id=user.id, library_id=library_id, role=role, ip=ip)
    return user


def staff_in_scope(session: Session, principal: Principal) -> list[tuple[StaffUser, list[StaffRole]]]:
    """Accounts holding a role in a library this administrator administers."""
    scope = principal.scope(Level.ADMINISTER)
    rows = session.scalars(select(StaffRole).where(StaffRole.library_id.in_(scope))).all() if scope else []
    by_user: dict[int, list[StaffRole]] = {}
    for grant in rows:
        by_user.setdefault(grant.user_id, []).append(grant)
    users = session.scalars(select(StaffUser).where(StaffUser.id.in_(by_user)).order_by(StaffUser.username)).all()
    return [(user, by_user[user.id]) for user in users]
