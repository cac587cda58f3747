"""Library-scoped broker accounts (``thuvien mqtt account add|list|remove|rotate``).

The topic layout puts the library in the topic (``<prefix>/<library>/<kind>/<device>/...``), but the device
ACL patterns cannot pin that level (Mosquitto substitutes only ``%u`` and ``%c``): a device may publish under
another library's level, which the server then quarantines as ``topic_mismatch``. So a library account is not
given ``<prefix>/<library>/#``, where a device of another library could write; it gets one line per device
*registered* to its library, with that device's exact library and kind levels (:func:`acl_grants`). Regenerate
the broker files after ``device add|remove`` as for the devices themselves.

Exceptions: :class:`~server.ingest.errors.AccountError` (a sentence for the operator).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.contract import TopicError, library_level
from edge.contract.topics import check_level
from server.audit import service as audit
from server.db import utcnow
from server.devices import repository as devices
from server.devices.passwords import mosquitto_hash, new_password
from server.ingest.errors import AccountError
from server.ingest.models import AccountAccess, MqttAccount
from server.libraries.models import Library

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountGrant:
    """What the ACL gives one library account: its access and the topic bases of its library's devices."""

    username: str
    access: AccountAccess
    library: str  # topic level of the library, e.g. vn-hdu
    device_bases: tuple[str, ...]  # "<library>/<kind>/<device>", without the prefix


def add_account(session: Session, username: str, library_isil: str, access: str,
                *, actor: str | None = None) -> tuple[MqttAccount, str]:
    """Create an account; the account and its password (shown once; only the ``$7$`` hash is kept)."""
    try:
        check_level(username, "account name")
    except TopicError as exc:
        raise AccountError(str(exc)) from None
    if access not in {a.value for a in AccountAccess}:
        raise AccountError(f"access {access!r} is not one of {', '.join(a.value for a in AccountAccess)}")
    library = devices.library_by_isil(session, library_isil)
    if library is None:
        raise AccountError(f"no library with ISIL {library_isil!r}")
    if devices.get(session, username, include_retired=True) is not None:
        raise AccountError(f"{username!r} is a device id; an account needs a name no device has")
    if session.scalar(select(MqttAccount).where(MqttAccount.username == username)) is not None:
        raise AccountError(f"account {username!r} exists (names are never reused, even after removal)")
    password = new_password()
    account = MqttAccount(username=username, library_id=library.id, access=AccountAccess(access),
                          credential_hash=mosquitto_hash(password))
    session.add(account)
    session.flush()
    _audit(session, account, "mqtt_account.add", actor)
    log.info("MQTT account %s (%s) added for %s", username, access, library.isil)
    return account, password


def _active(session: Session, username: str) -> MqttAccount:
    account = session.scalar(
        select(MqttAccount).where(MqttAccount.username == username, MqttAccount.retired_at.is_(None))
    )
    if account is None:
        raise AccountError(f"no active account {username!r}")
    return account


def retire_account(session: Session, username: str, *, actor: str | None = None) -> MqttAccount:
    account = _active(session, username)
    account.retired_at = utcnow()
    _audit(session, account, "mqtt_account.remove", actor)
    return account


def rotate_account(session: Session, username: str, *, actor: str | None = None) -> str:
    """A new password for the account (the old one stops working at the next ``thuvien mqtt config``)."""
    account = _active(session, username)
    password = new_password()
    account.credential_hash = mosquitto_hash(password)
    _audit(session, account, "mqtt_account.rotate", actor)
    return password


def list_accounts(session: Session) -> list[tuple[MqttAccount, str]]:
    """Active accounts with their library's ISIL, by name."""
    rows = session.execute(
        select(MqttAccount, Library.isil)
        .join(Library, Library.id == MqttAccount.library_id)
        .where(MqttAccount.retired_at.is_(None))
        .order_by(MqttAccount.username)
    ).all()
    return [(account, isil) for account, isil in rows]


def account_credentials(session: Session) -> list[tuple[str, str]]:
    """``(username, $7$ hash)`` of every active account, for the broker's password file."""
    return [(account.username, account.credential_hash) for account, _isil in list_accounts(session)]


def acl_grants(session: Session) -> list[AccountGrant]:
    """Every active account with the topic bases of the active devices registered to its library."""
    by_library: dict[str, list[str]] = {}
    for device, isil in devices.list_with_library(session):
        level = library_level(isil)
        by_library.setdefault(isil, []).append(f"{level}/{device.kind.value}/{device.device_id}")
    return [
        AccountGrant(account.username, account.access, library_level(isil), tuple(by_library.get(isil, ())))
        for account, isil in list_accounts(session)
    ]


def _audit(session: Session, account: MqttAccount, action: str, actor: str | None) -> None:
    audit.record(
        session, actor_kind="staff" if actor else "system", actor_id=actor, action=action,
        target_type="mqtt_account", target_id=account.username, library_id=account.library_id,
        details={"access": account.access.value},
    )
