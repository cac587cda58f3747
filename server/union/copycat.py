"""Copy cataloguing: search a remote SRU or Z39.50 target and import chosen records, keeping local fields.

Targets are written ``sru:http://host:port/path`` (SRU 1.2, MARCXML) or ``z3950:host:port/database``
(Z39.50 through yaz's ``zoomsh``, USMARC records; PQF queries such as ``@attr 1=7 9786041234567``).
An imported record that matches a local one (standard numbers, title/author/year) overlays it, keeping
the local fields (59X, 9XX, 852); otherwise it becomes a new record of the cataloguing library.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from pymarc import Record
from sqlalchemy import select

from server.catalog.errors import RemoteTargetError
from server.catalog.marcio import MARCXML_NS, parse_iso2709, record_from_bytes, repair_record, xml_to_record
from server.catalog.models import BibRecord
from server.catalog.service import apply_marc, keep_local_fields
from server.db import Database
from server.libraries.models import Library
from server.union.matching import Matcher, keys_of

log = logging.getLogger(__name__)

_HEADER = re.compile(rb"^\d+ database=[^\n]*syntax=[^\n]*\n", re.MULTILINE)
_HITS = re.compile(r": (\d+) hits")


@dataclass
class RemoteResult:
    total: int
    records: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def search_sru(url: str, query: str, maximum: int = 10, timeout: float = 30.0) -> RemoteResult:
    params = {
        "operation": "searchRetrieve",
        "version": "1.2",
        "query": query,
        "maximumRecords": str(maximum),
        "recordSchema": "marcxml",
    }
    full = url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(full, timeout=timeout) as response:  # noqa: S310  (configured target)
            body = response.read()
        root: Any = etree.fromstring(body)
    except (urllib.error.URLError, OSError, etree.XMLSyntaxError) as exc:
        raise RemoteTargetError(f"SRU target {url} failed: {exc}") from exc
    diagnostics: list[Any] = root.xpath("//*[local-name()='diagnostic']/*[local-name()='uri']/text()")
    if diagnostics:
        messages: list[Any] = root.xpath("//*[local-name()='diagnostic']/*[local-name()='message']/text()")
        raise RemoteTargetError(f"SRU target {url}: {diagnostics[0]} {messages[0] if messages else ''}".strip())
    totals: list[Any] = root.xpath("//*[local-name()='numberOfRecords']/text()")
    result = RemoteResult(total=int(totals[0]) if totals else 0)
    data: Any
    for data in root.xpath("//*[local-name()='recordData']"):
        element = data.find(f"{{{MARCXML_NS}}}record")
        text = str(data.text or "").strip()
        if element is None and text:
            try:
                element = etree.fromstring(text.encode("utf-8"))
            except etree.XMLSyntaxError as exc:
                result.problems.append(f"record data is not XML: {exc}")
                continue
        if element is None:
            result.problems.append("record without MARCXML")
            continue
        try:
            record = xml_to_record(element)
        except ValueError as exc:
            result.problems.append(str(exc))
            continue
        repair_record(record)
        result.records.append(record)
    return result


def search_z3950(address: str, query: str, maximum: int = 10, timeout: float = 30.0) -> RemoteResult:
    """Search ``host:port/database`` with a PQF query through ``zoomsh``; USMARC records parsed with pymarc."""
    zoomsh = shutil.which("zoomsh")
    if zoomsh is None:
        raise RemoteTargetError("zoomsh (Debian package yaz) is not installed")
    commands = [
        "set preferredRecordSyntax usmarc",
        f"connect tcp:{address}",
        f"search {query}",
        f"show 0 {maximum} raw",
        "quit",
    ]
    try:
        done = subprocess.run([zoomsh, *commands], capture_output=True, timeout=timeout, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RemoteTargetError(f"Z39.50 target {address} failed: {exc}") from exc
    out = done.stdout
    text = out.decode("utf-8", "replace")
    hits = _HITS.search(text)
    if hits is None:
        first = (text.strip() or done.stderr.decode("utf-8", "replace").strip()).splitlines()
        raise RemoteTargetError(f"Z39.50 target {address}: {first[0] if first else 'no answer'}")
    result = RemoteResult(total=int(hits.group(1)))
    for header in _HEADER.finditer(out):
        start = header.end()
        length = out[start : start + 5]
        if not length.isdigit():
            result.problems.append(f"record at byte {start} has no ISO 2709 leader")
            continue
        record, error, _notes, _repaired = parse_iso2709(out[start : start + int(length)])
        if record is None:
            result.problems.append(error or "unreadable record")
        else:
            result.records.append(record)
    return result


def search_target(target: str, query: str, maximum: int = 10) -> RemoteResult:
    kind, _, address = target.partition(":")
    if kind == "sru":
        return search_sru(address, query, maximum)
    if kind == "z3950":
        return search_z3950(address, query, maximum)
    raise ValueError(f"target {target!r} is neither sru:URL nor z3950:host:port/database")


def copy_catalogue(db: Database, records: list[Record], library_isil: str | None = None) -> list[int]:
    """Import ``records``: overlay matching local records (keeping local fields) or add them; their ids."""
    ids: list[int] = []
    with db.write() as session:
        library_id = None
        if library_isil is not None:
            library_id = session.scalar(select(Library.id).where(Library.isil == library_isil))
            if library_id is None:
                raise ValueError(f"no library with ISIL {library_isil!r}")
        matcher = Matcher(session)
        for record in records:
            match = matcher.find(keys_of(record))
            if match is not None:
                local = session.get(BibRecord, match.record_id)
                assert local is not None  # noqa: S101
                merged = keep_local_fields(record, record_from_bytes(local.marc))
                apply_marc(local, merged)
                matcher.forget(local.id)
                ids.append(local.id)
                log.info("copy cataloguing overlaid record %d (%s)", local.id, match.reason)
            else:
                new = apply_marc(BibRecord(source_library_id=library_id), record)
                session.add(new)
                session.flush()
                ids.append(new.id)
    return ids
