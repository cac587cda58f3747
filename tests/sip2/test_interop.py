"""Interoperability with two SIP2 implementations we did not write: pysip2 0.1.0 (strict codec, used as a
client) and the ``sip2`` 1.1 client package (lenient, with known bugs worked around here, not in the server).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from pysip2 import (
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    EndPatronSessionRequest,
    EndSessionResponse,
    FeePaidRequest,
    FeePaidResponse,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginRequest,
    LoginResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
    SCStatusRequest,
    decode_as,
    encode_message,
    verify_checksum,
)
from pysip2.models import ACSStatusResponse

from server.sip2.codec import checksum
from tests.sip2.conftest import DATE, Running


class PysipClient:
    """pysip2's codec as a typed client: encode with models, read to CR, decode strictly (UTF-8)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""
        self.seq = 0

    def call(self, message: object, expect: type) -> object:
        data = encode_message(message, sequence_number=self.seq, checksum=True, encoding="utf-8")  # type: ignore[arg-type]
        self.seq = (self.seq + 1) % 10
        self.sock.sendall(data)
        while b"\r" not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, "server closed the connection"
            self.buffer += chunk
        frame, _, self.buffer = self.buffer.partition(b"\r")
        assert verify_checksum(frame), frame
        return decode_as(frame + b"\r", expect, encoding="utf-8").message

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def pysip(sip: Running) -> Iterator[PysipClient]:
    client = PysipClient(sip.port)
    yield client
    client.close()


def test_pysip2_full_session(sip: Running, pysip: PysipClient) -> None:
    login = pysip.call(
        LoginRequest(
            uid_algorithm="0",
            pwd_algorithm="0",
            login_user_id="kiosk1",
            login_password="kiosk1-pass",
            location_code="KIOSK",
        ),
        LoginResponse,
    )
    assert login.ok == "1"  # type: ignore[attr-defined]
    status = pysip.call(
        SCStatusRequest(status_code="0", max_print_width="080", protocol_version="2.00"), ACSStatusResponse
    )
    assert status.online_status == "Y" and status.institution_id == "VN-TEST"  # type: ignore[attr-defined]
    patron = pysip.call(
        PatronStatusRequest(
            language="000",
            transaction_date=DATE,
            institution_id="VN-TEST",
            patron_identifier="0001",
            terminal_password="",
            patron_password="1234",
        ),
        PatronStatusResponse,
    )
    assert patron.personal_name == "Nguyễn Văn An" and patron.valid_patron_password == "Y"  # type: ignore[attr-defined]
    for barcode in ("39000001", "39000002", "39000003"):
        out = pysip.call(
            CheckoutRequest(
                sc_renewal_policy="Y",
                no_block="N",
                transaction_date=DATE,
                nb_due_date=DATE,
                institution_id="VN-TEST",
                patron_identifier="0001",
                item_identifier=barcode,
                terminal_password="",
            ),
            CheckoutResponse,
        )
        assert out.ok == "1" and out.due_date == "20261210    235959"  # type: ignore[attr-defined]
    assert out.title_identifier == "Tắt đèn"  # type: ignore[attr-defined]
    info = pysip.call(
        PatronInformationRequest(
            language="000",
            transaction_date=DATE,
            summary="  Y       ",
            institution_id="VN-TEST",
            patron_identifier="0001",
            terminal_password="",
            patron_password="1234",
        ),
        PatronInformationResponse,
    )
    assert info.charged_items_count == "0003"  # type: ignore[attr-defined]
    item = pysip.call(
        ItemInformationRequest(transaction_date=DATE, institution_id="VN-TEST", item_identifier="39000001"),
        ItemInformationResponse,
    )
    assert item.circulation_status == "04"  # type: ignore[attr-defined]
    sip.clock.advance(days=1)
    renew = pysip.call(
        RenewRequest(
            third_party_allowed="N",
            no_block="N",
            transaction_date="20261127    100000",
            nb_due_date="20261127    100000",
            institution_id="VN-TEST",
            patron_identifier="0001",
            item_identifier="39000001",
        ),
        RenewResponse,
    )
    assert renew.ok == "1" and renew.due_date == "20261211    235959"  # type: ignore[attr-defined]
    hold = pysip.call(
        HoldRequest(
            hold_mode="+",
            transaction_date=DATE,
            institution_id="VN-TEST",
            patron_identifier="0002",
            item_identifier="39000002",
        ),
        HoldResponse,
    )
    assert hold.ok == "1"  # type: ignore[attr-defined]
    back = pysip.call(
        CheckinRequest(
            no_block="N",
            transaction_date=DATE,
            return_date=DATE,
            current_location="Sảnh",
            institution_id="VN-TEST",
            item_identifier="39000002",
            terminal_password="",
        ),
        CheckinResponse,
    )
    assert back.ok == "1" and back.alert == "Y" and back.sort_bin == "1"  # type: ignore[attr-defined]
    all_ = pysip.call(
        RenewAllRequest(transaction_date=DATE, institution_id="VN-TEST", patron_identifier="0001"), RenewAllResponse
    )
    assert all_.ok == "1"  # type: ignore[attr-defined]
    paid = pysip.call(
        FeePaidRequest(
            transaction_date=DATE,
            fee_type="04",
            payment_type="00",
            currency_type="VND",
            fee_amount="60000",
            institution_id="VN-TEST",
            patron_identifier="0006",
        ),
        FeePaidResponse,
    )
    assert paid.payment_accepted == "Y"  # type: ignore[attr-defined]
    end = pysip.call(
        EndPatronSessionRequest(transaction_date=DATE, institution_id="VN-TEST", patron_identifier="0001"),
        EndSessionResponse,
    )
    assert end.end_session == "Y"  # type: ignore[attr-defined]


def test_lenient_where_pysip2_is_strict(sip: Running, pysip: PysipClient) -> None:
    """Frames pysip2's own server rejects (blank NB due date, 3M's ` 40` print width) work here."""
    from tests.sip2.rawclient import frame

    pysip.sock.sendall(frame("9300CNkiosk1|COkiosk1-pass|", 0))
    pysip.sock.sendall(frame("990 402.00", 1))
    pysip.sock.sendall(frame(f"11YN{DATE}{' ' * 18}AOVN-TEST|AA0001|AB39000004|", 2))
    data = b""
    while data.count(b"\r") < 3:
        data += pysip.sock.recv(65536)
    replies = data.split(b"\r")[:3]
    assert replies[0] == b"941AY0AZFDFD"
    assert replies[1].startswith(b"98YYYYYY")
    assert replies[2].startswith(b"121NNY")
    decode_as(replies[2] + b"\r", CheckoutResponse, encoding="utf-8")


# -- the `sip2` 1.1 client package --------------------------------------------------------------------------


def fixed_checksum(request: str) -> str:
    """Work around two bugs of `sip2` 1.1: checksums over code points and without zero padding."""
    body = request.rstrip("\r")
    az = body.rfind("AZ")
    prefix = body[: az + 2].encode("utf-8")
    return prefix.decode("utf-8") + checksum(prefix) + "\r"


@pytest.fixture
def sip2pkg(sip: Running) -> Iterator[object]:
    from Sip2.sip2 import Sip2

    client = Sip2()
    client.hostName = "127.0.0.1"
    client.hostPort = sip.port
    client.tlsEnable = False  # its default tries TLS first on a plain port
    client.hostEncoding = "utf-8"
    client.institutionId = "VN-TEST"
    client.scLocation = "KIOSK-01"
    client.log = logging.getLogger("tests.sip2pkg")  # it would otherwise write sip2.log into the cwd
    client.connect()
    yield client
    client.disconnect()
    client.log = None


def test_sip2_package_session(sip: Running, sip2pkg: object) -> None:
    c = sip2pkg

    def ask(request: str) -> str:
        response: str = c.get_response(fixed_checksum(request))  # type: ignore[attr-defined]
        # its own _crc_verify accepts anything: check the checksum ourselves
        assert verify_checksum(response.rstrip("\r").encode("utf-8")), response
        return response

    assert ask(c.sip_login_request("kiosk1", "kiosk1-pass")).startswith("941")  # type: ignore[attr-defined]
    status = c.sip_sc_status_response(ask(c.sip_sc_status_request()))  # type: ignore[attr-defined]
    assert status["variable"]["AO"] == ["VN-TEST"]
    c.patron = "0001"  # type: ignore[attr-defined]
    c.patronpwd = "1234"  # type: ignore[attr-defined]
    patron = c.sip_patron_status_response(ask(c.sip_patron_status_request()))  # type: ignore[attr-defined]
    assert patron["variable"]["AE"] == ["Nguyễn Văn An"]
    # nbDueDate must be an int timestamp (its default sends 18 blanks, which we would accept too)
    out = c.sip_checkout_response(ask(c.sip_checkout_request("39000005", nbDueDate=1_800_000_000)))  # type: ignore[attr-defined]
    assert out["fixed"]["Ok"] == "1"
    assert out["variable"]["AJ"] == ["Nỗi buồn chiến tranh"]
    back = c.sip_checkin_response(ask(c.sip_checkin_request("39000005")))  # type: ignore[attr-defined]
    assert back["fixed"]["Ok"] == "1"
    end = ask(c.sip_end_patron_session_request())  # type: ignore[attr-defined]
    assert end.startswith("36Y")
