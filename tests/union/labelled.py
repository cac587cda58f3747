"""A labelled duplicate set built from LoC records: re-catalogued copies (duplicates) and look-alikes (not).

Duplicates (label = the original's 001): the same book with its standard numbers kept but written
differently (ISBN-10 ↔ ISBN-13, hyphens, qualifiers), or without any standard number and a title typed
differently (case, punctuation, diacritics dropped, a trailing statement of responsibility).
Look-alikes (label None): another edition, another volume, another year, another kind of material.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from pymarc import Field, Indicators, Record, Subfield
from stdnum import isbn as stdnum_isbn

from server.catalog.folding import fold
from server.catalog.marcio import read_records
from server.catalog.records import extract
from tests.catalog.helpers import MARC


@dataclass(frozen=True)
class Variant:
    record: Record
    original: str | None  # the 001 of the record it duplicates, None for a look-alike
    kind: str


def originals(count: int) -> list[Record]:
    """``count`` LoC books with a title, an author and a year, no two with the same title key."""
    seen: set[str] = set()
    chosen: list[Record] = []
    with (MARC / "loc_books_20k.mrc").open("rb") as fh:
        for outcome in read_records(fh):
            record = outcome.record
            if record is None or record.get("001") is None or record.get("245") is None:
                continue
            data = extract(record)
            if not data.authors or data.year is None or data.title_key in seen or record.get("250") is not None:
                continue
            if str(record.leader)[6:8] != "am" or any(sf.code in "np" for sf in record["245"].subfields):
                continue
            seen.add(data.title_key)
            chosen.append(record)
            if len(chosen) == count:
                break
    return chosen


def _strip_numbers(record: Record) -> None:
    record.remove_fields("010", "020", "022", "035")


def _retitle(record: Record, how: int) -> None:
    f245 = record["245"]
    for index, sub in enumerate(f245.subfields):
        if sub.code == "a":
            text = sub.value
            if how == 0:
                text = text.upper().rstrip(" /:.") + " :"
            elif how == 1:
                text = fold(text).replace(",", "")
            else:
                text = text.replace(":", " ").replace(";", "") + " /"
            f245.subfields[index] = Subfield("a", text)


def variants(records: list[Record]) -> list[Variant]:
    out: list[Variant] = []
    for index, original in enumerate(records):
        control = original["001"].data
        record = copy.deepcopy(original)
        record["001"].data = f"B{index}"
        kind = index % 8
        if kind in (0, 1, 2):  # duplicate
            isbns = [sf.value for f in record.get_fields("020") for sf in f.subfields if sf.code == "a"]
            valid = [v.split(" ")[0] for v in isbns if stdnum_isbn.is_valid(v.split(" ")[0])]
            if kind == 0 and valid:
                record.remove_fields("020", "010")
                number = stdnum_isbn.to_isbn13(valid[0]) if len(stdnum_isbn.compact(valid[0])) == 10 else valid[0]
                record.add_ordered_field(
                    Field(tag="020", indicators=Indicators(" ", " "), subfields=[Subfield("a", f"{number} (pbk.)")])
                )
            else:
                _strip_numbers(record)
                _retitle(record, kind)
            out.append(Variant(record, control, f"duplicate-{kind}"))
            continue
        if kind == 3:  # duplicate: identical copy with the local control number only
            out.append(Variant(record, control, "duplicate-copy"))
            continue
        _strip_numbers(record)
        if kind == 4:
            record.add_ordered_field(
                Field(tag="250", indicators=Indicators(" ", " "), subfields=[Subfield("a", "2nd ed.")])
            )
            label = "other-edition"
        elif kind == 5:
            record["245"].add_subfield("n", "v. 2")
            label = "other-volume"
        elif kind == 6:
            f008 = record["008"]
            year = int(f008.data[7:11])
            f008.data = f008.data[:7] + f"{year + 7:04d}" + f008.data[11:]
            for fld in record.get_fields("260", "264"):
                for i, sub in enumerate(fld.subfields):
                    if sub.code == "c":
                        fld.subfields[i] = Subfield("c", f"{year + 7}.")
            label = "other-year"
        else:
            record.leader = str(record.leader)[:6] + "gm" + str(record.leader)[8:]  # type: ignore[assignment]
            label = "other-material"
        out.append(Variant(record, None, label))
    return out
