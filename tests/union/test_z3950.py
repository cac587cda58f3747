"""Z39.50: yaz-client through the Simple2ZOOM gateway in front of /sru; copy cataloguing from Zebra and SRU."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from pymarc import Field, Indicators, Subfield
from sqlalchemy import func, select

from server.catalog.errors import RemoteTargetError
from server.catalog.importer import Importer
from server.catalog.marcio import read_records, record_from_bytes
from server.catalog.models import BibRecord
from server.db import Database
from server.union.copycat import copy_catalogue, search_target
from server.union.gateway import simple2zoom_config
from tests.catalog.helpers import MARC, add_libraries
from tests.support import free_port, port_open, require, wait_for
from tests.union.conftest import LiveServer
from tests.union.data import load_vietnamese
from tests.union.zebra import Zebra


def test_yaz_client_through_simple2zoom(sqlite_db: Database, tmp_path: Path) -> None:
    require(shutil.which("simple2zoom") is not None, "simple2zoom (libnet-z3950-simple2zoom-perl)")
    load_vietnamese(sqlite_db, deleted=0)
    with LiveServer(sqlite_db) as live:
        config = tmp_path / "s2z.xml"
        config.write_text(simple2zoom_config(live.url + "/sru"), encoding="utf-8")
        port = free_port()
        gateway = subprocess.Popen(
            ["simple2zoom", "-c", str(config), "--", f"tcp:127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert wait_for(lambda: port_open("127.0.0.1", port), timeout=20)
            script = tmp_path / "cmds.txt"
            script.write_text(
                "\n".join(
                    [
                        f"open tcp:127.0.0.1:{port}/unioncat",
                        'find @attr 1=4 "chiến tranh"',
                        "format usmarc",
                        "show 1",
                        "find @attr 1=1003 nguyen",
                        "find @attr 1=9999 x",
                        "quit",
                    ]
                )
                + "\n",
                encoding="utf-8",
            )
            done = subprocess.run(["yaz-client", "-f", str(script)], capture_output=True, timeout=60, check=False)
            out = done.stdout.decode("utf-8", "replace")
        finally:
            gateway.terminate()
            gateway.wait(10)
    assert "Number of hits: 1," in out or "Number of hits: 1\n" in out, out
    assert "Quảng Ngãi, lịch sử chiến tranh" in out
    assert "114" in out  # unsupported use attribute


@pytest.fixture
def zebra(tmp_path: Path) -> Zebra:
    require(Zebra.available(), "Zebra (Debian package idzebra-2.0)")
    return Zebra(tmp_path / "zebra", (MARC / "vie_loc.mrc").read_bytes())


def test_copy_cataloguing_from_zebra_keeps_local_fields(db: Database, zebra: Zebra) -> None:
    add_libraries(db, "VN-A")
    with (MARC / "vie_loc.mrc").open("rb") as fh:
        outcomes = list(read_records(fh))
    local = outcomes[3].record
    assert local is not None
    local.add_ordered_field(
        Field(tag="590", indicators=Indicators(" ", " "), subfields=[Subfield("a", "Ghi chú địa phương")])
    )
    Importer(db, library_isil="VN-A").run(read_records(io.BytesIO(local.as_marc())))
    with zebra:
        found = search_target(f"z3950:{zebra.z3950}", "@attr 1=4 nam", maximum=5)
        assert found.total == 31 and len(found.records) == 5 and not found.problems
        word = max((w for w in str(local["245"]["a"]).split() if w.isascii() and w.isalpha()), key=len)
        by_title = search_target(f"z3950:{zebra.z3950}", f"@attr 1=4 {word}", maximum=50)
        with pytest.raises(RemoteTargetError, match="114"):
            search_target(f"z3950:{zebra.z3950}", "@attr 1=9999 x")
    same = next(r for r in by_title.records if r["001"].data == local["001"].data)
    fresh = [r for r in found.records if r["001"].data != local["001"].data][:2]
    ids = copy_catalogue(db, [same, *fresh], library_isil="VN-A")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(BibRecord)) == 3
        overlaid = session.get(BibRecord, ids[0])
        assert overlaid is not None
        assert record_from_bytes(overlaid.marc)["590"]["a"] == "Ghi chú địa phương"


def test_copy_cataloguing_from_sru(db: Database) -> None:
    load_vietnamese(db, deleted=0)
    with LiveServer(db) as live:
        found = search_target(f"sru:{live.url}/sru", 'dc.title = "chiến tranh"')
        assert found.total == 1 and found.records[0]["245"]["a"].startswith("Quảng Ngãi")
        with pytest.raises(RemoteTargetError, match="diagnostic/1/10"):
            search_target(f"sru:{live.url}/sru", 'dc.title = "unbalanced')
    with pytest.raises(RemoteTargetError):
        search_target("sru:http://127.0.0.1:9/sru", "x")
    with pytest.raises(ValueError, match="neither"):
        search_target("ftp:x", "x")
