"""The tag, sim and firmware command lines, the wedge card reader, and pty reopening."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.readers import WedgeCardReader, open_reader
from edge.readers.sim import ReaderSimulator, SimControl, demo_tags
from edge.readers.sim.cli import main as sim_main
from edge.readers.wedge import card_id_from_scan
from edge.tags.cli import main as tag_main

P3 = "11010131313232333334340000000000000000513e4445373035000000000000"
P2 = "9100051CBE991A140201D0140204B34607441CB6E2E335D6830207ACC09EBAA06F6B0000"


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, list[dict[str, object]]]:
    code = tag_main(argv)
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.strip()]


def test_decode_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, [tag] = run_json(capsys, ["decode", P3])
    assert code == 0
    assert tag["format"] == "iso28560-3"
    assert (tag["primary_item_id"], tag["owner_isil"], tag["parts_in_set"], tag["part_number"]) == (
        "11223344",
        "DE-705",
        1,
        1,
    )
    code, [tag] = run_json(capsys, ["decode", P2])
    assert (tag["format"], tag["set_information"], tag["shelf_location"]) == ("iso28560-2", "1203", "QA268.L55")
    code, [tag] = run_json(capsys, ["decode", "00" * 32])
    assert tag["format"] == "blank"
    code, [tag] = run_json(capsys, ["decode", "DEADBEEF" * 9])
    assert code == 1 and tag["format"] == "unknown"


def test_encode_then_decode(capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("iso28560-3", "iso28560-2", "3m-rfid501"):
        isil = [] if fmt == "3m-rfid501" else ["--isil", "VN-TQ0001"]
        assert tag_main(["encode", "--format", fmt, "--item-id", "TV2026000001", *isil]) == 0
        hexed = capsys.readouterr().out.strip()
        code, [tag] = run_json(capsys, ["decode", hexed])
        assert (tag["format"], tag["primary_item_id"]) == (fmt, "TV2026000001")


def test_encode_refusal_names_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert tag_main(["encode", "--item-id", "1", "--isil", "VN HN"]) == 2
    assert "owner_isil" in capsys.readouterr().err


def test_read_from_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    with ReaderSimulator("feig", "pty", demo_tags(3), timing=False) as sim:
        code, records = run_json(capsys, ["read", "--reader", sim.url, "--afi", "0x07"])
    assert code == 0 and len(records) == 3
    assert {r["title"] for r in records} >= {"Truyện Kiều"}


def test_read_unreachable_reader(capsys: pytest.CaptureFixture[str]) -> None:
    assert tag_main(["read", "--reader", "serial:///dev/nonexistent-reader?driver=feig"]) == 2


def test_sim_demo_tags(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    assert sim_main(["demo-tags", str(out), "--count", "4", "--format", "iso28560-2"]) == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))["tags"]) == 4


def test_sim_reader_out_of_process(tmp_path: Path) -> None:
    info = tmp_path / "sim.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "sim", "reader", "--demo", "5", "--timing", "off", "--info-file", str(info)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + 20
        while not info.exists() or not info.read_text(encoding="utf-8").strip():
            assert proc.poll() is None and time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.05)
        started = json.loads(info.read_text(encoding="utf-8"))
        reader = open_reader(started["url"])
        try:
            assert len(reader.inventory()) == 5
            with SimControl(started["control"]) as ctl:
                uid = ctl.call("list")["tags"][0]["uid"]
                assert ctl.call("remove", uid=uid)["ok"]
            assert len(reader.inventory()) == 4
        finally:
            reader.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_sim_control_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with ReaderSimulator("3m", "tcp:0", demo_tags(2), timing=False, control="tcp:0") as sim:
        assert sim_main(["control", sim.control_address or "", "stats"]) == 0
        assert json.loads(capsys.readouterr().out)["ok"] is True
        assert sim_main(["control", sim.control_address or "", "fault", '{"kind": "nope"}']) == 1


def test_pty_can_be_reopened_many_times() -> None:
    with ReaderSimulator("feig", "pty", demo_tags(2), timing=False) as sim:
        for _ in range(5):
            reader = open_reader(sim.url)
            assert len(reader.inventory()) == 2
            reader.close()


def test_wedge_keys_and_cccd() -> None:
    wedge = WedgeCardReader(min_length=4)
    assert wedge.feed("12") == []
    [card] = wedge.feed("3456\r")
    assert (card.card_id, card.source) == ("123456", "wedge")
    [cccd] = wedge.feed("001090123456|012345678|NGUYEN VAN A|01011990|Nam|Ha Noi|15042021\n")
    assert (cccd.card_id, cccd.source) == ("001090123456", "wedge-cccd")
    assert wedge.feed("ab\n") == []
    assert wedge.wait_for_card(0.01) == card
    assert card_id_from_scan("x|y") is None


def test_wedge_stream() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, encoding="utf-8") as stream:
        wedge = WedgeCardReader(stream)
        with os.fdopen(write_fd, "w", encoding="utf-8") as writer:
            writer.write("PATRON-0042\n")
        event = wedge.wait_for_card(5)
        assert event is not None and event.card_id == "PATRON-0042"


# pyserial's spy:// never closes its log file; the ResourceWarning is pyserial's, not ours
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_spy_url_logs_the_traffic(tmp_path: Path) -> None:
    log = tmp_path / "spy.log"
    with ReaderSimulator("feig", "pty", demo_tags(1), timing=False) as sim:
        device = sim.url.split("://", 1)[1].split("?", 1)[0]
        reader = open_reader(f"spy://{device}?driver=feig&file={log}")
        try:
            assert len(reader.inventory()) == 1
        finally:
            reader.close()
    text = log.read_text(encoding="utf-8")
    assert "TX" in text and "RX" in text


def test_loop_url_opens_and_times_out() -> None:
    from edge.readers import ReaderTimeoutError
    from edge.readers.feig import FeigReader

    reader = open_reader("loop://?driver=feig&timeout=0.05")
    assert isinstance(reader, FeigReader)
    try:
        with pytest.raises(ReaderTimeoutError):
            reader.software_version()  # the echoed 5-byte request is too short to be a response
    finally:
        reader.close()


@pytest.mark.parametrize(
    "url",
    ["ftp://x", "serial://?driver=feig", "serial:///dev/x?driver=nfc", "socket://nohost?driver=feig"],
)
def test_bad_urls(url: str) -> None:
    from edge.readers import ReaderUrlError

    with pytest.raises(ReaderUrlError):
        open_reader(url)


def test_every_driver_satisfies_the_ports() -> None:
    from edge.readers import CardReader, ReconnectingReader, TagReader
    from edge.readers.bibliotheca810 import Bibliotheca810Reader
    from edge.readers.feig import FeigReader
    from edge.readers.pcsc import PcscCardReader, PcscTagReader

    from .driver_base import ScriptedPort

    for reader in (
        FeigReader(ScriptedPort()),
        Bibliotheca810Reader(ScriptedPort()),
        PcscTagReader("none"),
        ReconnectingReader(lambda: FeigReader(ScriptedPort())),
    ):
        assert isinstance(reader, TagReader), reader
    for cards in (PcscCardReader("none"), WedgeCardReader()):
        assert isinstance(cards, CardReader), cards
