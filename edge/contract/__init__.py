"""The MQTT message contract between edge devices and the central server: topics and JSON payloads.

Pure code (pydantic only, no I/O); the server imports it. Every payload carries ``v``, the schema version
(:data:`SCHEMA_VERSION`); a reader refuses versions it does not know. See docs/mqtt.md.

Topics, general to specific, the device id one whole level (Mosquitto ``%u`` patterns confine a device)::

    <prefix>/<library>/<kind>/<device_id>/status          retained, QoS 1, also the Last Will ("offline")
    <prefix>/<library>/<kind>/<device_id>/telemetry       QoS 0
    <prefix>/<library>/<kind>/<device_id>/evt/<event>     QoS 1, from the durable outbox, idempotent by event_id
                                                          (one Event, or an EventBatch of events of that kind)
    <prefix>/<library>/<kind>/<device_id>/res/<command>   QoS 1, a command's result
    <prefix>/<library>/<kind>/<device_id>/cmd/<command>   server -> device, QoS 1, with an id and an expiry
    <prefix>/<library>/<kind>/<device_id>/ack             server -> device, QoS 1, the event ids the server stored

Exceptions::

    ContractError (ValueError)
     ├── TopicError           a topic that is not of this scheme, or a level that is not allowed
     └── PayloadError         malformed JSON, a wrong shape, or an unknown schema version (.reason)
"""

from .errors import ContractError, PayloadError, TopicError
from .payloads import (
    COMMAND_NAMES,
    EVENT_KINDS,
    MAX_BATCH_EVENTS,
    SCHEMA_VERSION,
    Ack,
    Command,
    CommandResult,
    Event,
    EventBatch,
    ReaderHealth,
    Status,
    Telemetry,
    batch_events,
    decode,
    encode,
    encode_batch,
    is_batch,
    new_event_id,
    parse_json,
    validate,
)
from .topics import DEVICE_KINDS, Channel, DeviceTopics, ParsedTopic, library_level, parse_topic, server_filters

__all__ = [
    "ContractError",
    "PayloadError",
    "TopicError",
    "SCHEMA_VERSION",
    "EVENT_KINDS",
    "MAX_BATCH_EVENTS",
    "COMMAND_NAMES",
    "DEVICE_KINDS",
    "Ack",
    "Command",
    "CommandResult",
    "Event",
    "EventBatch",
    "ReaderHealth",
    "Status",
    "Telemetry",
    "batch_events",
    "decode",
    "encode",
    "encode_batch",
    "is_batch",
    "new_event_id",
    "parse_json",
    "validate",
    "Channel",
    "DeviceTopics",
    "ParsedTopic",
    "library_level",
    "parse_topic",
    "server_filters",
]
