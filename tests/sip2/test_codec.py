"""The codec: the reference checksum examples, trailers parsed from the end, dates, encodings, leniency."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from server.sip2.codec import (
    ChecksumMismatch,
    MalformedFrame,
    UnknownCommand,
    Wire,
    build_response,
    checksum,
    encode_text,
    fold_ascii,
    format_date,
    parse_date,
    parse_request,
    resend_request,
    truncate_encoded,
    verify_checksum,
)

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def test_reference_example_sc_status() -> None:
    # 3M spec checksum example: bytes sum 844 = 0x034C -> 0xFCB4.
    assert sum(b"990 402.00AY1AZ") == 844
    assert checksum(b"990 402.00AY1AZ") == "FCB4"
    assert verify_checksum(b"990 402.00AY1AZFCB4")


def test_reference_resend_constants() -> None:
    assert checksum(b"97AZ") == "FEF5"
    assert checksum(b"96AZ") == "FEF6"
    assert resend_request(True) == b"96AZFEF6\r"
    assert resend_request(False) == b"96\r"


def test_known_bad_spec_examples_compute_differently() -> None:
    assert checksum(b"9300CNLoginUserID|COLoginPassword|CPLocationCode|AY5AZ") == "EC7B"


def test_checksum_is_zero_padded_upper_case() -> None:
    # find a prefix whose checksum has a leading zero: pad with bytes until the sum lands there
    prefix = b"99" + b"\xff" * 245 + b"AZ"
    value = checksum(prefix)
    assert len(value) == 4 and value == value.upper()
    assert (sum(prefix) + int(value, 16)) & 0xFFFF == 0
    assert checksum(b"") == "0000"


@pytest.mark.parametrize("value", ["0FF1", "00A0", "0001"])
def test_leading_zero_checksums(value: str) -> None:
    target = int(value, 16)
    total = (-target) & 0xFFFF
    data = bytearray()
    while total > 0:
        step = min(total, 0x7A)
        data.append(step)
        total -= step
    assert checksum(bytes(data)) == value


def test_checksum_over_utf8_bytes() -> None:
    body = "24              00020261126    100000AOVN-TEST|AA0001|AENguyễn Văn An|AY1AZ".encode()
    assert checksum(body) == format((-sum(body)) & 0xFFFF, "04X")
    assert checksum(body) != format((-sum(map(ord, body.decode()))) & 0xFFFF, "04X")


def test_trailer_located_from_the_end() -> None:
    # a title containing "AY" must not confuse the parser
    body = b"17" + b"20261126    100000" + b"AOX|ABAY1AZ|"
    frame = body + b"AY3AZ" + checksum(body + b"AY3AZ").encode()
    request = parse_request(frame)
    assert request.sequence == "3"
    assert request.get("AB") == "AY1AZ"


def test_bad_checksum_raises() -> None:
    with pytest.raises(ChecksumMismatch):
        parse_request(b"990 402.00AY1AZFCB5")


def test_unknown_and_malformed() -> None:
    with pytest.raises(UnknownCommand):
        parse_request(b"55hello")
    with pytest.raises(MalformedFrame):
        parse_request(b"11YN2026")
    with pytest.raises(MalformedFrame):
        parse_request(b"9")


def test_lenient_fields() -> None:
    request = parse_request(b"23000" + b"20261126    100000" + b"AOX|AA0001|ZZunknown|AA0002|")
    assert request.get("AA") == "0001"
    assert request.get("AC") == "" and not request.has("AD")
    assert request.fields["ZZ"] == ["unknown"]


def test_dates() -> None:
    moment = dt.datetime(2026, 11, 26, 3, 0, 0, tzinfo=dt.UTC)
    assert format_date(moment, ZONE) == "20261126    100000"
    assert parse_date("20261126    100000", ZONE) == moment
    assert parse_date("20261126   Z030000", ZONE) == moment
    assert parse_date(" " * 18, ZONE) is None
    assert parse_date("0" * 18, ZONE) is None
    assert parse_date("2026ab26    100000", ZONE) is None
    assert parse_date("short", ZONE) is None


def test_encodings() -> None:
    title = "Truyện Kiều — Đất rừng phương Nam"
    assert fold_ascii(title) == "Truyen Kieu — Dat rung phuong Nam"
    assert encode_text(title, "ascii") == b"Truyen Kieu ? Dat rung phuong Nam"
    cp = encode_text("Café Việt", "cp850")
    assert cp.decode("cp850") == "Café Viet"
    assert encode_text(title, "utf-8") == title.encode()


def test_truncate_at_character_boundary() -> None:
    value = "ệ" * 200  # 3 bytes each
    cut = truncate_encoded(value, "utf-8")
    assert len(cut.encode()) <= 255 and len(cut) == 85


def test_build_response_exact() -> None:
    wire = Wire()
    assert build_response("94", "1", [], wire, "0") == b"941AY0AZFDFD\r"
    assert build_response("94", "1", [], Wire(error_detection=False), "0") == b"941\r"
    assert build_response("94", "1", [], wire, None) == b"941\r"
    assert build_response("94", "1", [], Wire(terminator=b"\r\n"), None) == b"941\r\n"
    out = build_response("36", "Y", [("AO", "A|B"), ("AF", None)], wire, "")
    assert out.startswith(b"36YAOA/B|AZ") and verify_checksum(out[:-1])


def test_logged_frames_hide_passwords_and_pins() -> None:
    from server.sip2.server import redact

    assert redact(b"9300CNkiosk1|COsecret|CPx|AY0AZF3BE") == b"9300CNkiosk1|CO***|CPx|AY0AZF3BE"
    assert redact(b"9300COsecret|CNkiosk1|") == b"9300CO***|CNkiosk1|"
    assert redact(b"23000" + b"x" * 18 + b"AOx|AA1|AC|AD1234|") == b"23000" + b"x" * 18 + b"AOx|AA1|AC|AD***|"
