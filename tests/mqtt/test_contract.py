"""The message contract: topic scheme and payloads, with bad input refused with a reason."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.contract import (
    Channel,
    Command,
    DeviceTopics,
    Event,
    PayloadError,
    Status,
    TopicError,
    decode,
    encode,
    new_event_id,
    parse_topic,
    server_filters,
)


def test_topics_put_the_device_id_in_one_level() -> None:
    topics = DeviceTopics("thuvien", "VN-HDU", "kiosk", "hdu-k01")
    assert topics.status == "thuvien/vn-hdu/kiosk/hdu-k01/status"
    assert topics.event("checkout") == "thuvien/vn-hdu/kiosk/hdu-k01/evt/checkout"
    assert topics.commands == "thuvien/vn-hdu/kiosk/hdu-k01/cmd/+"
    assert topics.ack == "thuvien/vn-hdu/kiosk/hdu-k01/ack"
    parsed = parse_topic(topics.result("ping"))
    assert (parsed.library, parsed.kind, parsed.device_id, parsed.channel, parsed.name) == (
        "vn-hdu", "kiosk", "hdu-k01", Channel.RESULT, "ping"
    )
    assert all("#" not in t for t in (topics.commands, topics.ack))


@pytest.mark.parametrize(
    "topic",
    ["thuvien/vn-hdu/kiosk/hdu-k01", "thuvien/vn-hdu/robot/x/status", "thuvien/vn-hdu/kiosk/X1/status",
     "thuvien/vn-hdu/kiosk/k1/evt", "thuvien/vn-hdu/kiosk/k1/status/extra", "thuvien/vn-hdu/kiosk/k1/nope"],
)
def test_foreign_topics_are_refused(topic: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(topic)


@pytest.mark.parametrize("device_id", ["HDU-K01", "a/b", "k+", "#", "", "x" * 65])
def test_device_ids_must_be_topic_levels(device_id: str) -> None:
    with pytest.raises(TopicError):
        DeviceTopics("thuvien", "VN-HDU", "kiosk", device_id)


def test_server_filters_share_events_but_not_retained_status() -> None:
    filters = server_filters("thuvien", "ingest")
    assert "$share/ingest/thuvien/+/+/+/evt/+" in filters
    assert "thuvien/+/+/+/status" in filters
    assert server_filters("thuvien")[0] == "thuvien/+/+/+/evt/+"


def test_payloads_round_trip_with_their_version() -> None:
    now = dt.datetime.now(dt.UTC)
    event = Event(event_id=new_event_id(), device_id="k1", kind="checkout", occurred_at=now, data={"item": "1"})
    raw = encode(event)
    assert b'"v":1' in raw
    assert decode(Event, raw) == event
    status = Status(device_id="k1", state="offline", reason="lwt")
    assert decode(Status, encode(status)).at is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b"[1, 2]", "invalid_payload"),
        (b'{"v": 2, "event_id": "a"}', "unknown_version"),
        (b'{"v": true}', "unknown_version"),
        (b'{"event_id": "a"}', "unknown_version"),
        (b'{"v": 1, "event_id": "a", "device_id": "k", "kind": "checkout", "occurred_at": "2026-01-01T00:00:00"}',
         "invalid_payload"),
        (b'{"v": 1, "event_id": "a b", "device_id": "k", "kind": "x", "occurred_at": "2026-01-01T00:00:00Z"}',
         "invalid_payload"),
        (b'{"v": 1, "event_id": "a", "device_id": "k", "kind": "x", "occurred_at": "2026-01-01T00:00:00Z",'
         b' "extra": 1}', "invalid_payload"),
    ],
)
def test_bad_payloads_give_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        decode(Event, raw)
    assert caught.value.reason == reason


def test_commands_need_an_expiry() -> None:
    with pytest.raises(PayloadError):
        decode(Command, b'{"v": 1, "command_id": "c1", "name": "ping", "issued_at": "2026-01-01T00:00:00Z"}')
