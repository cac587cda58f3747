"""Matching precision and recall on the labelled LoC set, and the guards one by one."""

from __future__ import annotations

import io

from sqlalchemy import select

from server.catalog.importer import Importer
from server.catalog.marcio import read_records
from server.catalog.models import BibRecord
from server.db import Database
from server.union.matching import Matcher, edition_key, keys_of
from tests.union.labelled import originals, variants


def test_edition_keys() -> None:
    assert edition_key("2nd ed.") == "2"
    assert edition_key("Tái bản lần thứ ba") == "3"
    assert edition_key("In lần thứ 2, có sửa chữa") == "2"
    assert edition_key("Rev. ed.") == "rev ed"


def test_precision_and_recall(sqlite_db: Database) -> None:
    base = originals(160)
    Importer(sqlite_db).run(read_records(io.BytesIO(b"".join(r.as_marc() for r in base))))
    labelled = variants(base)
    true_positive = false_positive = false_negative = 0
    with sqlite_db.session() as session:
        controls = {rid: number for rid, number in session.execute(select(BibRecord.id, BibRecord.control_number))}
        matcher = Matcher(session)
        for variant in labelled:
            match = matcher.find(keys_of(variant.record))
            found = controls.get(match.record_id) if match else None
            if variant.original is not None:
                if found == variant.original.strip():
                    true_positive += 1
                else:
                    false_negative += 1
                    false_positive += found is not None
            elif found is not None:
                false_positive += 1
    precision = true_positive / max(true_positive + false_positive, 1)
    recall = true_positive / max(true_positive + false_negative, 1)
    print(f"matching: precision {precision:.3f}, recall {recall:.3f} on {len(labelled)} labelled records")  # noqa: T201
    assert sum(v.original is not None for v in labelled) == 80
    assert precision >= 0.97
    assert recall >= 0.9
