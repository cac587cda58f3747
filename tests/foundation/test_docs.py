"""docs/demo.md documents every demo identifier the demo seeds."""

from __future__ import annotations

from pathlib import Path

from server.demo import data

DEMO_MD = Path(__file__).resolve().parents[2] / "docs" / "demo.md"


def test_demo_md_lists_every_identifier() -> None:
    text = DEMO_MD.read_text("utf-8")
    expected = [lib.isil for lib in data.LIBRARIES]
    expected += [p.card for p in data.PATRONS] + [p.pin for p in data.PATRONS]
    expected += [s.username for s in data.STAFF] + [s.password for s in data.STAFF]
    expected += [a.login for a in data.SIP2_ACCOUNTS] + [a.password for a in data.SIP2_ACCOUNTS]
    expected += [i.barcode for i in data.HIGHLIGHTS] + [uid for i in data.HIGHLIGHTS for uid in i.tag_uids]
    missing = [value for value in expected if f"`{value}`" not in text]
    assert missing == []
