"""Against a real reader: only with THUVIEN_READER_URL set (never in CI); writes need THUVIEN_ALLOW_TAG_WRITES=1."""

from __future__ import annotations

import os

import pytest

from edge.readers import open_reader, read_library_tag
from edge.tags import TagFormatError

URL = os.environ.get("THUVIEN_READER_URL")
pytestmark = [
    pytest.mark.hardware,
    pytest.mark.skipif(not URL, reason="set THUVIEN_READER_URL to a real reader to run these"),
]


def test_inventory_and_decode_read_only() -> None:
    assert URL is not None
    reader = open_reader(URL)
    try:
        for result in reader.inventory():
            try:
                info, tag = read_library_tag(reader, result.uid)
            except TagFormatError:
                continue
            assert info.uid == result.uid
            assert tag.format in ("iso28560-3", "iso28560-2", "3m-rfid501", "blank")
    finally:
        reader.close()


@pytest.mark.skipif(os.environ.get("THUVIEN_ALLOW_TAG_WRITES") != "1", reason="tag writes not allowed")
def test_afi_write_round_trip() -> None:
    assert URL is not None
    reader = open_reader(URL)
    try:
        results = reader.inventory()
        if not results:
            pytest.skip("no tag on the reader")
        uid = results[0].uid
        before = reader.system_info(uid).afi or 0
        reader.write_afi(uid, before)  # writes the value it already has
        assert reader.system_info(uid).afi == before
    finally:
        reader.close()
