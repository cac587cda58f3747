"""Staff accounts and role grants per library."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, enum_column, utcnow


class Role(StrEnum):
    SYSTEM_ADMIN = "system_admin"
    LIBRARY_ADMIN = "library_admin"
    LIBRARIAN = "librarian"
    READ_ONLY = "read_only"


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[dt.datetime | None]

    roles: Mapped[list[StaffRole]] = relationship(back_populates="user", cascade="all, delete-orphan")


class StaffRole(Base):
    """A role a staff user holds in one library, and so in every library below it."""

    __tablename__ = "staff_roles"
    __table_args__ = (UniqueConstraint("user_id", "library_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"))
    role: Mapped[Role] = mapped_column(enum_column(Role))

    user: Mapped[StaffUser] = relationship(back_populates="roles")
