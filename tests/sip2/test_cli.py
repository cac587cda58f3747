"""``thuvien sip2 account add|list|remove``."""

from __future__ import annotations

import io
import json

import pytest

from server.db import Database
from server.sip2.accounts import Sip2AccountService
from server.sip2.cli import main
from tests.circulation.builders import build_world


def test_account_add_list_remove(
    sqlite_db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(sqlite_db)
    monkeypatch.setenv("THUVIEN_DEMO", "true")
    url = ["--database", sqlite_db.url]
    monkeypatch.setattr("sys.stdin", io.StringIO("machine-pass\n"))
    assert (
        main(
            [
                *url,
                "account",
                "add",
                "selfcheck2",
                "--library",
                "VN-TEST-B",
                "--password-stdin",
                "--encoding",
                "ascii",
                "--terminator",
                "CRLF",
                "--delimiter",
                "^",
                "--sort-bin",
                "hold_here=H",
                "--operations",
                "checkout,checkin,patron_status",
            ]
        )
        == 0
    )
    assert "added SIP2 account selfcheck2" in capsys.readouterr().out
    config = Sip2AccountService(sqlite_db).authenticate("selfcheck2", "machine-pass")
    assert config is not None and config.terminator == "\r\n" and config.sort_bins == {"hold_here": "H"}
    assert config.field_delimiter == "^"
    assert config.allowed_operations == {"checkout", "checkin", "patron_status"}
    assert main([*url, "account", "add", "selfcheck2", "--library", "VN-TEST", "--password", "x"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main([*url, "account", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(a["login"], a["delimiter"]) for a in listed] == [("kiosk1", "|"), ("selfcheck2", "^")]
    assert main([*url, "account", "list"]) == 0
    assert "selfcheck2\tVN-TEST-B\tVN-TEST-B\tascii\t^\t" in capsys.readouterr().out
    assert main([*url, "account", "add", "x", "--library", "VN-TEST", "--password", "x", "--delimiter", "ab"]) == 2
    assert "delimiter" in capsys.readouterr().err
    assert main([*url, "account", "remove", "selfcheck2"]) == 0
    assert main([*url, "account", "remove", "selfcheck2"]) == 2
    assert main([*url, "account", "add", "x", "--library", "VN-NOPE", "--password", "x"]) == 2
    assert "no library" in capsys.readouterr().err
