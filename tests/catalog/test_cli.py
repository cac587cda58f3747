"""``thuvien marc`` and ``thuvien union`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.catalog import cli as marc_cli
from server.db import Database
from server.union import cli as union_cli
from tests.catalog.helpers import MARC, add_libraries


@pytest.fixture
def env(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("THUVIEN_DEMO", "true")
    monkeypatch.setenv("THUVIEN_DATABASE__URL", sqlite_db.url)
    monkeypatch.delenv("THUVIEN_CONFIG", raising=False)
    add_libraries(sqlite_db, "VN-A")
    return sqlite_db


def test_marc_import_search_export(env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    assert marc_cli.main(["import", str(MARC / "bad_records.mrc"), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "read 9, added 2, updated 0" in out and "rejected 7" in out and "record 9 at" in out
    assert len([r for r in json.loads(report.read_text()) if r["kind"] == "rejected"]) == 7
    assert marc_cli.main(["import", str(MARC / "vie_loc.mrc"), "--library", "VN-A"]) == 0
    assert marc_cli.main(["search", "chien tranh nhan dan"]) == 0
    assert "Quảng Ngãi" in capsys.readouterr().out
    for fmt in ("iso2709", "xml", "json"):
        target = tmp_path / f"out.{fmt}"
        assert marc_cli.main(["export", "--library", "VN-A", "--format", fmt, "-o", str(target)]) == 0
        assert "exported 121 records" in capsys.readouterr().out
    assert (tmp_path / "out.json").read_text(encoding="utf-8").count("\n") == 121
    assert marc_cli.main(["import", str(tmp_path / "out.xml"), "--library", "VN-A"]) == 0
    assert "added 0, updated 121" in capsys.readouterr().out
    assert marc_cli.main(["import", str(tmp_path / "missing.mrc")]) == 2
    assert marc_cli.main(["import", str(MARC / "vie_loc.mrc"), "--library", "VN-NONE"]) == 2


def test_union_cli(env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert marc_cli.main(["import", str(MARC / "vie_loc.mrc"), "--library", "VN-A"]) == 0
    assert union_cli.main(["dump", "--format", "json", "-o", str(tmp_path / "province.jsonl")]) == 0
    assert "121 records" in capsys.readouterr().out
    assert union_cli.main(["add-source", "A", "http://127.0.0.1:9/oai", "--library", "VN-A"]) == 0
    assert union_cli.main(["sources"]) == 0
    assert union_cli.main(["merges", "--json"]) == 0
    assert union_cli.main(["harvest", "A"]) == 2  # the provider is not there: one sentence, no traceback
    assert "cannot fetch" in capsys.readouterr().err
