"""Handlers of the event kinds the devices domain owns itself."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from edge.contract import Event
from server.devices.models import Device
from server.ingest.errors import RejectEvent
from server.ingest.handlers import register_handler

log = logging.getLogger(__name__)


def on_reader_state(_session: Session, device: Device, event: Event) -> None:
    """A reader went connected / silent / unplugged: keep the latest state on the device."""
    state = event.data.get("state")
    if not isinstance(state, str) or not state:
        raise RejectEvent("reader_state event without a state")
    device.reader_state = state[:32]


register_handler("reader_state", on_reader_state)
