"""MQTT ingest: the consumer that stores device events exactly once, device status and telemetry, command
dispatch, the event-handler registry other domains plug into, and the Mosquitto configuration generator.

Exceptions::

    IngestError (RuntimeError)
     ├── RejectEvent (.reason)     raised by a handler: the event is quarantined with that reason
     ├── BrokerConfigError         `thuvien mqtt config` cannot write a usable configuration
     └── AccountError              `thuvien mqtt account ...` cannot do what was asked
"""

from .errors import AccountError, BrokerConfigError, IngestError, RejectEvent
from .handlers import EventHandler, handler_for, register_handler, registered_kinds

__all__ = [
    "IngestError",
    "RejectEvent",
    "BrokerConfigError",
    "AccountError",
    "EventHandler",
    "register_handler",
    "handler_for",
    "registered_kinds",
]
