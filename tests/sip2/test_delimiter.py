"""A per-account field delimiter: login is read with ``|`` (or its own trailing delimiter), then the session
parses and writes with the account's delimiter; the checksum is over the bytes as sent."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from pysip2 import (
    CheckoutRequest,
    CheckoutResponse,
    LoginRequest,
    LoginResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    decode_as,
    encode_message,
    verify_checksum,
)

from server.sip2.accounts import InvalidAccountSetting, Sip2AccountService
from server.sip2.codec import Wire, build_response, clean_value, parse_request
from server.sip2.server import redact
from tests.sip2.conftest import BLANK, DATE, Running
from tests.sip2.rawclient import RawClient, frame

AO = "AOVN-TEST^"


@pytest.fixture
def caret(sip: Running) -> str:
    Sip2AccountService(sip.db).add("caret", "pw", library_isil="VN-TEST", field_delimiter="^", terminal_location="Ô^1")
    return "caret"



def test_session_with_a_caret_delimiter(caret: str, connect: Callable[[], RawClient]) -> None:
    c = connect()
    # before login the account is unknown: 99 and 93 are read with "|"
    assert c.request("9900802.00") == frame(f"98NNNNNN050003{DATE}2.00AO|BXNNNNYYYNNNNNNNNN|", 0)
    assert c.request("9300CNcaret|COpw|CPKIOSK|") == frame("941", 1)
    # from now on fields end with "^" both ways; a "^" inside a value is replaced ("Ô^1" → "Ô/1")
    c.expect(
        "9900802.00",
        f"98YYYYYY050003{DATE}2.00{AO}AMThư viện tỉnh Thử^BXYYYYYYYYYYYYYYYY^ANÔ/1^",
    )
    c.expect(
        f"23000{DATE}{AO}AA0001^AC^AD1234^",
        f"24              000{DATE}{AO}AA0001^AENguyễn Văn An^BLY^CQY^BHVND^BV0^",
    )
    c.expect(
        f"11YN{DATE}{BLANK}{AO}AA0001^AB39000001^AC^",
        f"121NNY{DATE}{AO}AA0001^AB39000001^AJTruyện Kiều^AH20261210    235959^CK001^AFHạn trả / Due 10/12/2026^",
    )
    # "|" is an ordinary character for this account: "A|B" is one value
    c.expect(f"35{DATE}{AO}AAX|Y^", f"36Y{DATE}{AO}AAX|Y^")


def test_login_written_with_its_own_delimiter(caret: str, connect: Callable[[], RawClient]) -> None:
    c = connect()
    assert c.request("9300CNcaret^COpw^CPKIOSK^") == frame("941", 0)
    c.expect(f"35{DATE}{AO}AA0001^", f"36Y{DATE}{AO}AA0001^")
    # the default account keeps "|"
    d = connect()
    assert d.login() == frame("941", 0)
    d.expect(f"35{DATE}AOVN-TEST|AA0001|", f"36Y{DATE}AOVN-TEST|AA0001|")


def test_pysip2_codec_with_a_caret_delimiter(sip: Running, caret: str) -> None:
    with socket.create_connection(("127.0.0.1", sip.port), timeout=10) as sock:
        buffer = b""

        def call(message: object, expect: type, seq: int, delimiter: str) -> object:
            nonlocal buffer
            data = encode_message(
                message,  # type: ignore[arg-type]
                sequence_number=seq,
                checksum=True,
                encoding="utf-8",
                field_delimiter=delimiter,
            )
            sock.sendall(data)
            while b"\r" not in buffer:
                chunk = sock.recv(65536)
                assert chunk, "server closed the connection"
                buffer += chunk
            reply, _, buffer = buffer.partition(b"\r")
            assert verify_checksum(reply), reply
            return decode_as(reply + b"\r", expect, encoding="utf-8", field_delimiter=delimiter).message

        login = call(
            LoginRequest(uid_algorithm="0", pwd_algorithm="0", login_user_id="caret", login_password="pw"),
            LoginResponse,
            0,
            "^",
        )
        assert login.ok == "1"  # type: ignore[attr-defined]
        patron = call(
            PatronStatusRequest(
                language="000",
                transaction_date=DATE,
                institution_id="VN-TEST",
                patron_identifier="0001",
                terminal_password="",
                patron_password="1234",
            ),
            PatronStatusResponse,
            1,
            "^",
        )
        assert patron.personal_name == "Nguyễn Văn An"  # type: ignore[attr-defined]
        assert patron.valid_patron_password == "Y"  # type: ignore[attr-defined]
        out = call(
            CheckoutRequest(
                sc_renewal_policy="Y",
                no_block="N",
                transaction_date=DATE,
                nb_due_date=DATE,
                institution_id="VN-TEST",
                patron_identifier="0001",
                item_identifier="39000002",
                terminal_password="",
            ),
            CheckoutResponse,
            2,
            "^",
        )
        assert out.ok == "1" and out.title_identifier == "Số đỏ"  # type: ignore[attr-defined]


def test_codec_uses_the_given_delimiter() -> None:
    request = parse_request(b"23000" + DATE.encode() + b"AOx^AA0001^AD12|34^", delimiter="^")
    assert request.get("AA") == "0001" and request.get("AD") == "12|34"
    # a login names its own delimiter when it carries no "|"
    assert parse_request(b"9300CNk^COp^", delimiter="|").get("CO") == "p"
    assert parse_request(b"9300CNk|COp^q|", delimiter="^").get("CO") == "p^q"
    out = build_response("36", "Y", [("AO", "A^B|C"), ("AA", "1")], Wire(delimiter="^"), "1")
    assert out.startswith(b"36YAOA/B|C^AA1^AY1AZ") and verify_checksum(out[:-1])
    assert clean_value("a/b|c", "/") == "a|b|c"


def test_logged_frames_hide_secrets_with_any_delimiter() -> None:
    assert redact(b"9300CNcaret^COse#cret^CPx^AY0AZF3BE") == b"9300CNcaret^CO***^CPx^AY0AZF3BE"
    assert redact(b"23000" + b"x" * 18 + b"AOx^AA1^AD12|34^", "^") == b"23000" + b"x" * 18 + b"AOx^AA1^AD***^"


def test_delimiter_must_be_one_punctuation_character(sip: Running) -> None:
    accounts = Sip2AccountService(sip.db)
    for bad in ("", "ab", "x", " ", "\r"):
        with pytest.raises(InvalidAccountSetting, match="delimiter"):
            accounts.add(f"bad{len(bad)}{bad.isalpha()}", "pw", library_isil="VN-TEST", field_delimiter=bad)
    assert accounts.update("kiosk1", field_delimiter="~").field_delimiter == "~"
