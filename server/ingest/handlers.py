"""The event-handler registry: each domain registers what an event kind does to its own tables.

A handler runs inside the ingest transaction that stores the event, so its effects and the event record
commit together or not at all, and a redelivered event (same ``event_id``) never reaches it twice::

    from server.ingest import RejectEvent, register_handler

    def on_alarm(session: Session, device: Device, event: Event) -> None:
        session.add(GateAlarm(event_id=event.event_id, ...))

    register_handler("alarm", on_alarm)

Raise :class:`~server.ingest.RejectEvent` to quarantine an event with a reason; any other exception also
quarantines it (reason ``handler_failed``) and is logged. Register at import time in your module and add the
module's name to :data:`HANDLER_MODULES` so that every server process imports it.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from edge.contract import Event
from server.devices.models import Device

log = logging.getLogger(__name__)

EventHandler = Callable[[Session, Device, Event], None]

# Modules that register handlers when imported (one line per domain; missing modules are skipped).
HANDLER_MODULES: list[str] = [
    "server.ingest.builtin",
    "server.alarms.ingest",
    "server.reports.ingest",
    "server.circulation.ingest",
    "server.mail.ingest",
]

_handlers: dict[str, EventHandler] = {}
_loaded = False
_loading = threading.Lock()


def register_handler(kind: str, handler: EventHandler) -> None:
    """Make ``handler`` the effect of events of ``kind``; registering a kind twice is an error."""
    existing = _handlers.get(kind)
    if existing is not None and existing is not handler:
        raise ValueError(f"event kind {kind!r} already has a handler ({existing.__module__}.{existing.__name__})")
    _handlers[kind] = handler


def unregister_handler(kind: str) -> None:
    """Remove the handler of ``kind`` (tests)."""
    _handlers.pop(kind, None)


def handler_for(kind: str) -> EventHandler | None:
    load_handler_modules()
    return _handlers.get(kind)


def registered_kinds() -> list[str]:
    load_handler_modules()
    return sorted(_handlers)


def load_handler_modules() -> None:
    """Import every module of :data:`HANDLER_MODULES` once (they register their handlers).

    Consumer threads call this concurrently: until the first call has imported them all, the others wait
    instead of finding a kind without its handler.
    """
    global _loaded
    if _loaded:
        return
    with _loading:
        if _loaded:
            return
        for name in HANDLER_MODULES:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name is not None and name.startswith(exc.name):
                    log.debug("event handler module %s is not installed", name)
                    continue
                raise
        _loaded = True
