"""Topic names: built for one device by :class:`DeviceTopics`, taken apart by :func:`parse_topic`."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum

from .errors import TopicError

log = logging.getLogger(__name__)

DEVICE_KINDS = ("kiosk", "gate", "station")

# A topic level we generate: lowercase letters, digits, dashes and underscores (no wildcards, no slash).
_LEVEL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class Channel(StrEnum):
    STATUS = "status"
    TELEMETRY = "telemetry"
    EVENT = "evt"
    RESULT = "res"
    COMMAND = "cmd"
    ACK = "ack"


_NAMED = {Channel.EVENT, Channel.RESULT, Channel.COMMAND}


def check_level(value: str, what: str) -> str:
    """``value`` if it is a valid topic level; a :class:`TopicError` naming ``what`` otherwise."""
    if not _LEVEL.match(value):
        raise TopicError(
            f"{what} {value!r} cannot be a topic level: use 1-64 lowercase letters, digits, '-' or '_'"
        )
    return value


def library_level(library: str) -> str:
    """The topic level of a library code: the ISIL lowercased (``VN-HDU`` -> ``vn-hdu``)."""
    return check_level(library.strip().lower(), "library code")


@dataclass(frozen=True)
class ParsedTopic:
    prefix: str
    library: str
    kind: str
    device_id: str
    channel: Channel
    name: str | None = None


def parse_topic(topic: str) -> ParsedTopic:
    """Take a topic of this scheme apart; :class:`TopicError` for anything else."""
    levels = topic.split("/")
    if len(levels) not in (5, 6):
        raise TopicError(f"topic {topic!r} does not have 5 or 6 levels")
    prefix, library, kind, device_id, channel_text = levels[:5]
    try:
        channel = Channel(channel_text)
    except ValueError:
        raise TopicError(f"topic {topic!r} has an unknown channel {channel_text!r}") from None
    name = levels[5] if len(levels) == 6 else None
    if (channel in _NAMED) != (name is not None):
        raise TopicError(f"topic {topic!r} has the wrong number of levels for channel {channel_text!r}")
    if kind not in DEVICE_KINDS:
        raise TopicError(f"topic {topic!r} has an unknown device kind {kind!r}")
    for value, what in ((library, "library"), (device_id, "device id")):
        check_level(value, what)
    if name is not None:
        check_level(name, "name")
    return ParsedTopic(prefix, library, kind, device_id, channel, name)


@dataclass(frozen=True)
class DeviceTopics:
    """Every topic one device uses, from the prefix, its library, its kind and its id."""

    prefix: str
    library: str
    kind: str
    device_id: str

    def __post_init__(self) -> None:
        check_level(self.prefix, "topic prefix")
        object.__setattr__(self, "library", library_level(self.library))
        if self.kind not in DEVICE_KINDS:
            raise TopicError(f"device kind {self.kind!r} is not one of {', '.join(DEVICE_KINDS)}")
        check_level(self.device_id, "device id")

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.library}/{self.kind}/{self.device_id}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def telemetry(self) -> str:
        return f"{self.base}/telemetry"

    @property
    def ack(self) -> str:
        return f"{self.base}/ack"

    @property
    def commands(self) -> str:
        """The filter the device subscribes to for its own commands (never ``#``)."""
        return f"{self.base}/cmd/+"

    def event(self, kind: str) -> str:
        return f"{self.base}/evt/{check_level(kind, 'event kind')}"

    def command(self, name: str) -> str:
        return f"{self.base}/cmd/{check_level(name, 'command name')}"

    def result(self, name: str) -> str:
        return f"{self.base}/res/{check_level(name, 'command name')}"


def server_filters(prefix: str, share_group: str | None = None) -> list[str]:
    """What the server subscribes to; event filters go through ``$share/<group>/`` when a group is given."""
    check_level(prefix, "topic prefix")
    shared = [f"{prefix}/+/+/+/evt/+", f"{prefix}/+/+/+/res/+", f"{prefix}/+/+/+/telemetry"]
    if share_group:
        check_level(share_group, "share group")
        shared = [f"$share/{share_group}/{topic}" for topic in shared]
    # Status is retained, and brokers send no retained messages to shared subscriptions: every server
    # subscribes to it directly (applying a status is idempotent).
    return [*shared, f"{prefix}/+/+/+/status"]
