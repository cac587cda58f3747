"""Libraries, their history of codes and parents, shelving locations and the opening calendar."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, enum_column, utcnow


class LibraryKind(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
    BRANCH = "branch"


class Library(Base):
    """A library of the network, identified by its ISIL (for example ``VN-HDU``)."""

    __tablename__ = "libraries"

    id: Mapped[int] = mapped_column(primary_key=True)
    isil: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[LibraryKind] = mapped_column(enum_column(LibraryKind))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    parent: Mapped[Library | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Library]] = relationship(back_populates="parent")
    locations: Mapped[list[Location]] = relationship(back_populates="library", cascade="all, delete-orphan")


class LibraryCode(Base):
    """A code (ISIL or local) a library has had, with the period it was valid; old codes are kept."""

    __tablename__ = "library_codes"
    __table_args__ = (UniqueConstraint("code", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]


class LibraryParentPeriod(Base):
    """Which library was this library's parent during a period (reports before a merger use the old tree)."""

    __tablename__ = "library_parent_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"))
    valid_from: Mapped[dt.date]
    valid_to: Mapped[dt.date | None]


class Location(Base):
    """A shelving location inside a library (reading room, children's corner, stacks...)."""

    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("library_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))

    library: Mapped[Library] = relationship(back_populates="locations")


class OpeningDay(Base):
    """A weekday on which the library opens (0 = Monday); a weekday without a row is closed."""

    __tablename__ = "opening_days"

    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"), primary_key=True)
    weekday: Mapped[int] = mapped_column(primary_key=True)
    opens: Mapped[dt.time]
    closes: Mapped[dt.time]


class Closure(Base):
    """A date on which the library is closed although its weekday is an opening day (holidays, Tết)."""

    __tablename__ = "closures"
    __table_args__ = (UniqueConstraint("library_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"), index=True)
    day: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(String(255), default="")
