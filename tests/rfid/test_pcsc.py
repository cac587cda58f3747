"""PC/SC driver through a real pcscd with Debian's vsmartcard-vpcd and this project's virtual card.

pcscd is started by the fixture when it is not running (and stopped again). Without pcscd or pyscard the
tests fail in CI (``CI`` set) and are skipped on a developer machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from edge.iso15693 import Uid
from edge.readers import NoTagError, read_library_tag
from edge.readers.sim import TagField, VirtualTag, demo_tags
from edge.readers.sim.vpcd_card import VPCD_PORT, VpcdCard, atr_for
from edge.tags import LibraryTag

TAG_SLOT = "Virtual PCD 00 00"
CARD_SLOT = "Virtual PCD 00 01"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"PC/SC tests need {reason} in CI (apt-get install pcscd vsmartcard-vpcd; pip install pyscard)")
    pytest.skip(f"{reason} not available")


def _vpcd_listening() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", VPCD_PORT), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def pcscd() -> Iterator[None]:
    try:
        import smartcard  # noqa: F401
    except ImportError:
        _unavailable("pyscard")
    from edge.readers import ReaderConnectionError
    from edge.readers.pcsc import list_readers

    proc = None
    if not _vpcd_listening():
        binary = shutil.which("pcscd") or ("/usr/sbin/pcscd" if os.path.exists("/usr/sbin/pcscd") else None)
        if binary is None:
            _unavailable("pcscd")
        proc = subprocess.Popen([binary, "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _vpcd_listening():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                _unavailable("pcscd with the vpcd driver (vsmartcard-vpcd)")
            time.sleep(0.1)
    try:
        # pcscd loads its drivers (vpcd listens) before it opens its client socket: until then it is "not available"
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(ReaderConnectionError):
                if TAG_SLOT in list_readers():
                    break
            if time.monotonic() > deadline:
                _unavailable("the vpcd readers in pcscd")
            time.sleep(0.1)
        yield
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)


def _card(card: VpcdCard) -> VpcdCard:
    card.start()
    assert card.connected.wait(10), "the virtual card could not connect to vpcd"
    return card


def _wait_for_card(reader_name: str) -> None:
    from edge.readers.pcsc import PcscTagReader

    deadline = time.monotonic() + 10
    while True:
        probe = PcscTagReader(reader_name)
        try:
            probe.uid()
            return
        except NoTagError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        finally:
            probe.close()


@pytest.fixture
def field() -> Iterator[TagField]:
    tags = demo_tags(3)
    tags.append(VirtualTag(Uid.from_hex("E007000011112222"), afi=0xC2))
    with _card(VpcdCard(TagField(tags))) as card:
        _wait_for_card(TAG_SLOT)
        yield card.field


def test_atr_checksum() -> None:
    atr = atr_for(0x0B, 0)
    x = 0
    for b in atr[1:]:
        x ^= b
    assert x == 0 and atr[0] == 0x3B


def test_an_unreachable_pcscd_is_a_reader_connection_error(tmp_path: Path) -> None:
    """pyscard's own context exceptions come out as the edge's ReaderConnectionError, naming the service."""
    probe = (
        "from edge.readers import ReaderConnectionError\n"
        "from edge.readers.pcsc import PcscTagReader, list_readers\n"
        "for call in (list_readers, PcscTagReader(None).uid):\n"
        "    try:\n"
        "        call()\n"
        "    except ReaderConnectionError as exc:\n"
        "        print('refused:', exc)\n"
    )
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("refused: PC/SC service not available") for line in lines), lines


def test_virtual_card_answers_reference_apdus() -> None:
    """The ACR1552U session from the reference, answered by the virtual card without pcscd."""
    card = VpcdCard(TagField([VirtualTag(Uid.from_hex("E00401008A5C982E"), afi=0)]))
    assert card.handle(b"\x04") == card.atr
    assert card.handle(b"\x01") is None
    assert card.apdu(bytes.fromhex("FFC20000028100")) == bytes.fromhex("C0030090009000")
    assert card.apdu(bytes.fromhex("FFC20002048F020203")) == bytes.fromhex("C0030090008F01009000")
    sysinfo = card.apdu(bytes.fromhex("FF C2 00 01 04 95 02 02 2B 00".replace(" ", "")))
    reference = "C0 03 00 90 00 92 01 00 96 02 00 00 97 0F 00 0F 2E 98 5C 8A 00 01 04 E0 00 00 1B 03 01 90 00"
    assert sysinfo == bytes.fromhex(reference.replace(" ", ""))
    addressed = bytes.fromhex("222B2E985C8A000104E0")
    answer = card.apdu(bytes.fromhex("FFC20001") + bytes((len(addressed) + 2, 0x95, len(addressed))) + addressed)
    assert answer == bytes.fromhex(
        "C003009000" + "920100" + "96020000" + "970F" + "000F2E985C8A000104E000001B0301" + "9000"
    )
    assert card.apdu(bytes.fromhex("FFCA000000")) == bytes.fromhex("2E985C8A000104E09000")
    assert card.apdu(bytes.fromhex("FFB0000004")) == bytes(4) + b"\x90\x00"


def test_tags_through_pcscd(pcscd: None, field: TagField) -> None:
    from edge.readers.pcsc import PcscTagReader

    reader = PcscTagReader(TAG_SLOT)
    try:
        found = {r.uid for r in reader.inventory()}
        assert found == {t.uid for t in field.all()}
        assert {r.uid.hex for r in reader.inventory(0xC2)} == {"E007000011112222"}
        first = demo_tags(1)[0].uid
        info, tag = read_library_tag(reader, first)
        assert (info.afi, tag.title, tag.owner_isil) == (0x07, "Truyện Kiều", "VN-TQ0001")
        reader.write_afi(first, 0xC2)
        assert field.get(first).afi == 0xC2
        assert reader.eas_alarm() is True
        for t in field.all():
            if t.uid.manufacturer_code == 0x04:  # NXP EAS commands: other makes stay silent
                reader.reset_eas(t.uid)
        assert reader.eas_alarm() is False
        reader.write_blocks(first, 24, bytes(range(8)))
        assert reader.read_blocks(first, 24, 2) == bytes(range(8))
    finally:
        reader.close()


def test_single_tag_uid_and_removal(pcscd: None) -> None:
    from edge.readers.pcsc import PcscTagReader

    tag = VirtualTag.with_item("E004010012345678", LibraryTag(primary_item_id="TV1"))
    with _card(VpcdCard(TagField([tag]))) as card:
        _wait_for_card(TAG_SLOT)
        reader = PcscTagReader(TAG_SLOT)
        try:
            assert reader.uid() == tag.uid  # sent LSB first, turned around
            card.field.remove(tag.uid)
            assert reader.inventory() == []
        finally:
            reader.close()


def test_patron_card_presented(pcscd: None) -> None:
    from edge.readers.pcsc import PcscCardReader

    with _card(VpcdCard(patron_uid=bytes.fromhex("04A1B2C3D4E5F6"), port=VPCD_PORT + 1)):
        cards = PcscCardReader(CARD_SLOT, poll_interval=0.05)
        try:
            event = cards.wait_for_card(timeout=10)
            assert event is not None
            assert (event.card_id, event.source, event.uid) == ("04A1B2C3D4E5F6", "pcsc", None)
            assert cards.wait_for_card(timeout=0.3) is None  # same card still there: no second event
        finally:
            cards.close()
