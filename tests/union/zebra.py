"""A Zebra 2.2 server (Debian idzebra-2.0) loaded with MARC records, answering Z39.50 and SRU on one port.

Used by the copy-cataloguing tests and by the SRU benchmark. ISO 2709 input needs ``encoding utf-8`` in the
``.abs`` file, else Zebra indexes UTF-8 as ISO-8859-1; 020 $a is added as the ISBN index (use 7).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support import free_port, port_open, wait_for

TAB = Path("/usr/share/idzebra-2.0/tab")
MODULES = Path("/usr/lib/x86_64-linux-gnu/idzebra-2.0/modules")

ZEBRA_CFG = f"""profilePath: .:{TAB}
modulePath: {MODULES}
recordType: grs.marc.usmarc
attset: bib1.att
attset: explain.att
register: reg:4G
lockDir: lock
keyTmpDir: tmp
storeKeys: 1
storeData: 1
perm.anonymous: rw
"""

PQF = """set.cql = info:srw/cql-context-set/1/cql-v1.2
set.dc = info:srw/cql-context-set/1/dc-v1.1
set.bath = http://zing.z3950.org/cql/bath/2.0/
set.rec = info:srw/cql-context-set/2/rec-1.1
index.cql.serverChoice = 1=1016
index.cql.anywhere = 1=1016
index.dc.title = 1=4
index.dc.creator = 1=1003
index.dc.subject = 1=21
index.bath.isbn = 1=7
index.rec.id = 1=12
relation.< = 2=1
relation.le = 2=2
relation.eq = 2=3
relation.ge = 2=4
relation.> = 2=5
relation.<> = 2=6
relation.scr = 2=3
relation.= = 2=3
relation.exact = 2=3
relation.all = 2=3
relation.any = 2=3
relation.adj = 2=3
position.first = 3=1 6=1
position.any = 3=3 6=1
position.last = 3=4 6=1
position.firstAndLast = 3=3 6=3
structure.exact = 4=108
structure.all = 4=2
structure.any = 4=2
structure.adj = 4=1
structure.* = 4=1
structure.eq = 4=3
structure.scr = 4=2
structure.= = 4=2
truncation.right = 5=1
truncation.left = 5=2
truncation.both = 5=3
truncation.none = 5=100
relationModifier.relevant = 2=102
"""


class Zebra:
    def __init__(self, directory: Path, records: bytes) -> None:
        self.directory = directory
        self.records = records
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return all(shutil.which(tool) for tool in ("zebraidx", "zebrasrv")) and TAB.is_dir()

    @property
    def z3950(self) -> str:
        return f"127.0.0.1:{self.port}/Default"

    @property
    def sru(self) -> str:
        return f"http://127.0.0.1:{self.port}/Default"

    def __enter__(self) -> Zebra:
        d = self.directory
        for sub in ("reg", "lock", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        abs_text = (TAB / "usmarc.abs").read_text(encoding="latin-1")
        isbn = "\nelm 020\t\t\tISBN\t\t-\nelm 020/?\t\tISBN\t\t-\nelm 020/?/a\t\tISBN\t\t!:w\n"
        (d / "usmarc.abs").write_text("encoding utf-8\n" + abs_text + isbn, encoding="latin-1")
        (d / "zebra.cfg").write_text(ZEBRA_CFG, encoding="ascii")
        (d / "pqf.properties").write_text(PQF, encoding="ascii")
        (d / "yazgfs.xml").write_text(
            f'<yazgfs><listen id="public">tcp:127.0.0.1:{self.port}</listen>'
            '<server id="s1" listenref="public"><config>zebra.cfg</config>'
            "<cql2rpn>pqf.properties</cql2rpn></server></yazgfs>",
            encoding="ascii",
        )
        (d / "records.mrc").write_bytes(self.records)
        for args in (["-g", "", "init"], ["update", "records.mrc"]):
            subprocess.run(["zebraidx", "-c", "zebra.cfg", *args], cwd=d, check=True, capture_output=True, timeout=3600)
        with (d / "zebrasrv.log").open("wb") as log:
            self.process = subprocess.Popen(["zebrasrv", "-f", "yazgfs.xml"], cwd=d, stdout=log, stderr=log)
        if not wait_for(lambda: port_open("127.0.0.1", self.port), timeout=20):
            self.__exit__()
            raise RuntimeError("zebrasrv did not start; see " + str(d / "zebrasrv.log"))
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
