"""SIP2 frames byte for byte: checksums, sequence numbers, encodings, lenient parsing."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.ils.codec import (
    build_frame,
    checksum,
    encode_text,
    fold_ascii,
    parse_frame,
    parse_sip_date,
    sip_date,
    verify,
)
from kiosk.ils.errors import Sip2ChecksumError, Sip2FrameError


def test_checksum_of_the_spec_example() -> None:
    assert checksum(b"990 402.00AY1AZ") == "FCB4"
    assert verify(b"990 402.00AY1AZFCB4")


def test_checksum_is_zero_padded_four_digits() -> None:
    data = b"\xff" * 241 + b"AZ"  # byte sum 0xF0AA -> checksum 0x0F56, which sloppy clients print as "F56"
    assert checksum(data) == "0F56"
    assert verify(data + b"0F56")
    assert not verify(data + b"F56")


def test_build_frame_login_and_sc_status() -> None:
    frame = build_frame("99", "0 402.00", [], sequence=1)
    assert frame == b"990 402.00AY1AZFCB4\r"
    login = build_frame("93", "00", [("CN", "kiosk1"), ("CO", "kiosk1-pass"), ("CP", "Sảnh")], sequence=0)
    assert login.startswith("9300CNkiosk1|COkiosk1-pass|CPSảnh|AY0AZ".encode())
    assert verify(login[:-1])


def test_checksum_is_over_utf8_bytes_not_code_points() -> None:
    frame = build_frame("63", "000" + " " * 28, [("AA", "Nguyễn Thị Hường")], sequence=3)
    body = frame[:-1]
    assert verify(body)
    code_points = sum(ord(c) for c in body[:-4].decode())
    assert format((-code_points) & 0xFFFF, "04X") != body[-4:].decode()


def test_fields_cannot_smuggle_delimiters_or_cr() -> None:
    frame = build_frame("11", "NN", [("AB", "a|b\rc")], sequence=0)
    assert frame.count(b"\r") == 1
    assert b"ABa/b c|" in frame


def test_sequence_must_be_a_digit() -> None:
    with pytest.raises(ValueError, match="sequence"):
        build_frame("99", "0", [], sequence=10)
    assert build_frame("99", "0", [], sequence=None, error_detection=False) == b"990\r"


def test_parse_finds_ay_az_from_the_end_even_with_ay_in_a_title() -> None:
    body = "121NNY20261126    101010AOVN-HDU|AA0001|AB3000|AJPLAY AY2 DAY|AH20261210    235959|AY7AZ"
    raw = body.encode() + checksum(body.encode()).encode() + b"\r\n"
    frame = parse_frame(raw)
    assert frame.code == "12"
    assert frame.sequence == 7
    assert frame.fixed == "1NNY20261126    101010"
    assert frame.get("AJ") == "PLAY AY2 DAY"
    assert frame.get("AH") == "20261210    235959"


def test_parse_rejects_a_bad_checksum_and_short_frames() -> None:
    with pytest.raises(Sip2ChecksumError):
        parse_frame(b"941AY0AZ0000\r")
    with pytest.raises(Sip2FrameError):
        parse_frame(b"12\r")
    with pytest.raises(Sip2FrameError):
        parse_frame(b"x\r")


def test_parse_keeps_repeated_and_unknown_fields() -> None:
    frame = parse_frame(
        b"64" + b" " * 14 + b"000" + b"20261126    101010" + b"0" * 24 + b"AOX|AAP|AEN|AU1|AU2|ZZz|PXq|"
    )
    assert frame.all("AU") == ["1", "2"]
    assert frame.get("ZZ") == "z"
    assert frame.sequence is None


def test_dates_local_and_utc() -> None:
    local = dt.datetime(2026, 11, 26, 9, 30, 5)
    assert sip_date(local) == "20261126    093005"
    assert parse_sip_date("20261126    093005") == local.astimezone()
    utc = parse_sip_date("20261126   Z093005")
    assert utc is not None and utc == dt.datetime(2026, 11, 26, 9, 30, 5, tzinfo=dt.UTC)
    assert parse_sip_date(" " * 18) is None
    assert parse_sip_date("0" * 18) is None
    assert parse_sip_date("tomorrow") is None


def test_vietnamese_ascii_fold_and_legacy_code_pages() -> None:
    assert fold_ascii("Đặng Văn Long – Hường") == "Dang Van Long ? Huong"
    assert encode_text("Truyện Kiều", "ascii-fold") == b"Truyen Kieu"
    assert encode_text("Truyện", "cp850") == "Truy?n".encode("cp850")
    frame = build_frame("63", "000", [("AA", "Đức")], sequence=0, encoding="ascii-fold")
    assert b"AADuc|" in frame
