"""The device registry's rules: provisioning with per-device broker credentials, retirement, rotation, commands.

The device id is the device's MQTT username and one level of its topics, so it must be a valid topic level
(lowercase letters, digits, ``-`` and ``_``) and is never reused, even after the device is retired.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from edge.contract import COMMAND_NAMES, DEVICE_KINDS, TopicError
from edge.contract.topics import check_level
from server.audit import service as audit
from server.db import utcnow
from server.devices import repository
from server.devices.errors import DeviceExists, DeviceNotFound, InvalidDevice, UnknownCommand, UnknownLibrary
from server.devices.models import CommandStatus, Device, DeviceCommand, DeviceKind, DeviceState
from server.devices.passwords import mosquitto_hash, new_password

log = logging.getLogger(__name__)

MAX_COMMAND_TTL = dt.timedelta(days=7)


@dataclass(frozen=True)
class Provisioned:
    """A device and the password it was given (shown once; only its hash is stored)."""

    device: Device
    library_isil: str
    password: str


def _check_id(device_id: str) -> str:
    try:
        return check_level(device_id, "device id")
    except TopicError as exc:
        raise InvalidDevice(str(exc)) from None


def add_device(
    session: Session, device_id: str, kind: str, library_isil: str, *, name: str = "", actor: str | None = None
) -> Provisioned:
    _check_id(device_id)
    if kind not in DEVICE_KINDS:
        raise InvalidDevice(f"device kind {kind!r} is not one of {', '.join(DEVICE_KINDS)}")
    library = repository.library_by_isil(session, library_isil)
    if library is None:
        raise UnknownLibrary(f"no library with ISIL {library_isil!r}")
    if repository.get(session, device_id, include_retired=True) is not None:
        raise DeviceExists(f"device id {device_id!r} is taken (ids are never reused, even after retirement)")
    password = new_password()
    device = Device(
        device_id=device_id,
        kind=DeviceKind(kind),
        library_id=library.id,
        name=name,
        credential_hash=mosquitto_hash(password),
        state=DeviceState.UNKNOWN,
        versions={},
        config={},
    )
    session.add(device)
    session.flush()
    audit.record(
        session, actor_kind="staff" if actor else "system", actor_id=actor, action="device.add",
        target_type="device", target_id=device_id, library_id=library.id, details={"kind": kind},
    )
    log.info("device %s (%s) added to %s", device_id, kind, library_isil)
    return Provisioned(device, library.isil, password)


def _active(session: Session, device_id: str) -> Device:
    device = repository.get(session, device_id)
    if device is None:
        raise DeviceNotFound(f"no active device {device_id!r}")
    return device


def retire_device(session: Session, device_id: str, *, actor: str | None = None) -> Device:
    """Retire a device: its credentials stop working at the next ``thuvien mqtt config``; its records stay."""
    device = _active(session, device_id)
    device.retired_at = utcnow()
    device.credential_hash = None
    device.state = DeviceState.OFFLINE
    audit.record(
        session, actor_kind="staff" if actor else "system", actor_id=actor, action="device.remove",
        target_type="device", target_id=device_id, library_id=device.library_id,
    )
    return device


def rotate_credentials(session: Session, device_id: str, *, actor: str | None = None) -> Provisioned:
    device = _active(session, device_id)
    password = new_password()
    device.credential_hash = mosquitto_hash(password)
    audit.record(
        session, actor_kind="staff" if actor else "system", actor_id=actor, action="device.rotate",
        target_type="device", target_id=device_id, library_id=device.library_id,
    )
    return Provisioned(device, repository.library_of(session, device).isil, password)


def issue_command(
    session: Session,
    device_id: str,
    name: str,
    args: dict[str, Any] | None = None,
    *,
    ttl: dt.timedelta = dt.timedelta(minutes=5),
    issued_by: int | None = None,
) -> DeviceCommand:
    """Queue a command; the ingest consumer publishes it. It expires after ``ttl`` (never run late)."""
    if name not in COMMAND_NAMES:
        raise UnknownCommand(f"unknown command {name!r}; devices understand {', '.join(COMMAND_NAMES)}")
    if not dt.timedelta(seconds=1) <= ttl <= MAX_COMMAND_TTL:
        raise InvalidDevice(f"command lifetime {ttl} must be between 1 second and {MAX_COMMAND_TTL}")
    device = _active(session, device_id)
    now = utcnow()
    command = DeviceCommand(
        command_id=uuid.uuid4().hex,
        device_id=device.device_id,
        name=name,
        args=dict(args or {}),
        issued_at=now,
        expires_at=now + ttl,
        issued_by=issued_by,
        status=CommandStatus.PENDING,
    )
    session.add(command)
    session.flush()
    return command


def quarantine_summary(session: Session) -> dict[str, int]:
    """Quarantined events by reason code (the text before the first colon)."""
    counts: Counter[str] = Counter()
    for reason in repository.quarantine_reasons(session):
        counts[(reason or "unknown").split(":", 1)[0]] += 1
    return dict(sorted(counts.items()))


def broker_credentials(session: Session) -> list[tuple[str, str]]:
    """``(username, $7$ hash)`` of every active device with credentials, for the broker's password file."""
    return [
        (device.device_id, device.credential_hash)
        for device, _isil in repository.list_with_library(session)
        if device.credential_hash
    ]
