"""The "done when" session: a third-party-style SIP2 conversation against the real server process started by
``thuvien demo --headless`` (its SIP2 account kiosk1), every reply decoded by pysip2's strict codec."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from pysip2 import decode_message, verify_checksum

from server.sip2.codec import format_date
from tests.sip2.rawclient import RawClient
from tests.support import free_ports, port_open, wait_for

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def test_third_party_session_against_demo_server(tmp_path: Path) -> None:
    http_port, sip2_port = free_ports(2)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge.cli",
            "demo",
            "--headless",
            "--data-dir",
            str(tmp_path),
            "--http-port",
            str(http_port),
            "--sip2-port",
            str(sip2_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert wait_for(lambda: port_open("127.0.0.1", sip2_port), timeout=90), "SIP2 port never opened"
        c = RawClient(sip2_port, timeout=30)
        replies: list[bytes] = []

        def ask(body: str) -> str:
            reply = c.request(body)
            assert verify_checksum(reply[:-1]), reply
            decode_message(reply, encoding="utf-8")  # strict: every field where the spec puts it
            replies.append(reply)
            return reply.decode("utf-8")

        date = format_date(dt.datetime.now(dt.UTC), ZONE)
        blank = " " * 18
        ao = "AOVN-HDU|"
        assert ask("9300CNkiosk1|COkiosk1-pass|CPSanh|").startswith("941")
        assert ask("9900802.00").startswith("98YYYYYY")
        info = ask(f"63000{date}          {ao}AA0001000001|AC|AD1234|")
        assert "AENguyễn Văn An|" in info and "CQY|" in info
        titles = []
        for barcode in ("3000000001", "3000000002", "3000000003"):
            out = ask(f"11YN{date}{blank}{ao}AA0001000001|AB{barcode}|AC|AD1234|")
            assert out.startswith("121N"), out
            titles.append(out.split("|AJ", 1)[1].split("|", 1)[0])
        assert titles == ["Truyện Kiều", "Số đỏ", "Tắt đèn"]
        assert ask(f"29NN{date}{blank}{ao}AA0001000001|AB3000000001|").startswith("301Y")
        trapped = ask(f"09N{date}{blank}APSanh|{ao}AB3000000008|AC|")
        assert trapped.startswith("101YNY") and "CV01|" in trapped and "CY0001000001|" in trapped
        back = ask(f"09N{date}{blank}APSanh|{ao}AB3000000002|AC|")
        assert back.startswith("101YNN")
        paid = ask(f"37{date}0400VNDBV60000|{ao}AA0001000006|")
        assert paid.startswith("38Y")
        assert ask(f"35{date}{ao}AA0001000001|").startswith("36Y")
        c.close()
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert "Traceback" not in output
