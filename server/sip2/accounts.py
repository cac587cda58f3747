"""SIP2 accounts: add, list, remove, authenticate. Settings live in ``sip2_accounts`` (one row each).

Exceptions::

    AccountError (ValueError)
     ├── AccountExists
     ├── AccountNotFound
     └── InvalidAccountSetting   unknown library, encoding, terminator, field delimiter or operation
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import Database
from server.libraries.models import Library
from server.libraries.repository import get_by_isil
from server.security import hash_secret, verify_secret
from server.sip2.codec import DELIMITERS, ENCODINGS
from server.sip2.models import ALL_OPERATIONS, Sip2Account

log = logging.getLogger(__name__)

TERMINATORS = {"CR": "\r", "CRLF": "\r\n"}


class AccountError(ValueError):
    pass


class AccountExists(AccountError):
    pass


class AccountNotFound(AccountError):
    pass


class InvalidAccountSetting(AccountError):
    pass


@dataclass(frozen=True)
class AccountConfig:
    """One account's settings, read once at login (the password hash is not carried)."""

    id: int
    login: str
    institution_id: str
    library_id: int
    library_isil: str
    library_name: str
    terminal_location: str = ""
    encoding: str = "utf-8"
    terminator: str = "\r"
    field_delimiter: str = "|"
    error_detection: bool = True
    allowed_operations: frozenset[str] = frozenset(ALL_OPERATIONS)
    fees_block_checkout: bool = True
    accept_offline: bool = True
    hold_alerts: bool = True
    sort_bins: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True

    def allows(self, operation: str) -> bool:
        return operation in self.allowed_operations


def _config(row: Sip2Account, library: Library | None) -> AccountConfig:
    return AccountConfig(
        id=row.id,
        login=row.login,
        institution_id=row.institution_id,
        library_id=row.library_id,
        library_isil=library.isil if library else "",
        library_name=library.name if library else "",
        terminal_location=row.terminal_location,
        encoding=row.encoding,
        terminator=row.terminator,
        field_delimiter=row.field_delimiter,
        error_detection=row.error_detection,
        allowed_operations=frozenset(str(op) for op in row.allowed_operations),
        fees_block_checkout=row.fees_block_checkout,
        accept_offline=row.accept_offline,
        hold_alerts=row.hold_alerts,
        sort_bins={str(k): str(v) for k, v in (row.sort_bins or {}).items()},
        enabled=row.enabled,
    )


def _validate(options: Mapping[str, Any]) -> None:
    encoding = options.get("encoding")
    if encoding is not None and encoding not in ENCODINGS:
        raise InvalidAccountSetting(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
    terminator = options.get("terminator")
    if terminator is not None and terminator not in TERMINATORS.values():
        raise InvalidAccountSetting(f"terminator must be CR or CRLF, not {terminator!r}")
    delimiter = options.get("field_delimiter")
    if delimiter is not None and delimiter not in DELIMITERS:
        raise InvalidAccountSetting(f"the field delimiter must be one punctuation character, not {delimiter!r}")
    operations = options.get("allowed_operations")
    if operations is not None:
        unknown = set(operations) - set(ALL_OPERATIONS)
        if unknown:
            raise InvalidAccountSetting(f"unknown operations {sorted(unknown)!r}; known: {', '.join(ALL_OPERATIONS)}")


class Sip2AccountService:
    """Manage and authenticate SIP2 accounts."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Digests of (stored hash, password) pairs argon2 already accepted: kiosks reconnect often and each
        # argon2 check costs ~50 ms of CPU and 64 MiB; a changed password changes the stored hash, so a
        # stale entry can never match.
        self._verified: set[str] = set()

    def add(
        self,
        login: str,
        password: str,
        *,
        library_isil: str,
        institution_id: str | None = None,
        **options: Any,
    ) -> AccountConfig:
        if not login or not password:
            raise InvalidAccountSetting("login and password must not be empty")
        _validate(options)
        with self.db.write() as session:
            if session.scalar(select(Sip2Account.id).where(Sip2Account.login == login)) is not None:
                raise AccountExists(f"a SIP2 account {login!r} exists already")
            library = get_by_isil(session, library_isil)
            if library is None:
                raise InvalidAccountSetting(f"no library with ISIL {library_isil!r}")
            row = Sip2Account(
                login=login,
                password_hash=hash_secret(password),
                institution_id=institution_id or library.isil,
                library_id=library.id,
                **{k: list(v) if k == "allowed_operations" else v for k, v in options.items()},
            )
            session.add(row)
            session.flush()
            log.info("SIP2 account %s added for %s", login, library.isil)
            return _config(row, library)

    def list(self) -> list[AccountConfig]:
        with self.db.session() as session:
            return [_config(row, session.get(Library, row.library_id)) for row in self._rows(session)]

    def _rows(self, session: Session) -> Iterable[Sip2Account]:
        return session.scalars(select(Sip2Account).order_by(Sip2Account.login))

    def get(self, login: str) -> AccountConfig:
        with self.db.session() as session:
            row = session.scalar(select(Sip2Account).where(Sip2Account.login == login))
            if row is None:
                raise AccountNotFound(f"no SIP2 account {login!r}")
            return _config(row, session.get(Library, row.library_id))

    def update(self, login: str, **options: Any) -> AccountConfig:
        _validate(options)
        password = options.pop("password", None)
        with self.db.write() as session:
            row = session.scalar(select(Sip2Account).where(Sip2Account.login == login))
            if row is None:
                raise AccountNotFound(f"no SIP2 account {login!r}")
            for key, value in options.items():
                if not hasattr(Sip2Account, key) or key in {"id", "login", "password_hash", "created_at"}:
                    raise InvalidAccountSetting(f"unknown setting {key!r}")
                setattr(row, key, list(value) if key == "allowed_operations" else value)
            if password:
                row.password_hash = hash_secret(password)
            return _config(row, session.get(Library, row.library_id))

    def remove(self, login: str) -> None:
        with self.db.write() as session:
            row = session.scalar(select(Sip2Account).where(Sip2Account.login == login))
            if row is None:
                raise AccountNotFound(f"no SIP2 account {login!r}")
            session.delete(row)
            log.info("SIP2 account %s removed", login)

    def authenticate(self, login: str, password: str) -> AccountConfig | None:
        """The account's settings when login and password match an enabled account, else ``None``."""
        with self.db.session() as session:
            row = session.scalar(select(Sip2Account).where(Sip2Account.login == login))
            if row is None or not row.enabled:
                verify_secret(None, password)
                return None
            stored = row.password_hash
            config = _config(row, session.get(Library, row.library_id))
        digest = hashlib.sha256(f"{stored}\x00{password}".encode()).hexdigest()
        if digest in self._verified:
            return config
        if not verify_secret(stored, password):
            return None
        if len(self._verified) > 1000:
            self._verified.clear()
        self._verified.add(digest)
        return config
