"""Registers the gate event handlers with the MQTT ingest (imported through ``HANDLER_MODULES``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from edge.contract import Event
from server.devices.models import Device
from server.ingest.errors import RejectEvent
from server.ingest.handlers import register_handler

from . import service


def on_alarm(session: Session, device: Device, event: Event) -> None:
    """A gate alarmed: classify it against the catalogue and the loans."""
    if device.kind.value != "gate":
        raise RejectEvent(f"alarm event from a {device.kind.value}, not a gate")
    service.classify_alarm(session, device, event)


def on_visitors(session: Session, device: Device, event: Event) -> None:
    """A gate's visitor counts for one period."""
    try:
        service.record_visitors(session, device, event)
    except ValueError as exc:
        raise RejectEvent(str(exc)) from exc


register_handler("alarm", on_alarm)
register_handler("visitors", on_visitors)
