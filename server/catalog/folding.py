"""Vietnamese text folding for search: one function used at index time and at query time.

Repairs the order of combining marks that NFC cannot fix (tone mark before the vowel-quality mark),
normalises, casefolds, strips marks and maps đ to d: "Đường đến Điện Biên Phủ" → "duong den dien bien phu".
"""

from __future__ import annotations

import re
import unicodedata

_TONE = "\u0300\u0301\u0303\u0309"
_QUALITY = "\u0302\u0306"
_MISORDERED = re.compile(f"([{_TONE}])([{_QUALITY}])")
_LOOSE_MARK = re.compile(f"[{_TONE}{_QUALITY}]")


def repair(text: str) -> str:
    """Display form: combining marks put in Vietnamese order, then NFC."""
    if text.isascii():
        return text
    if unicodedata.is_normalized("NFC", text) and _LOOSE_MARK.search(text) is None:
        # Composed text without a loose tone or quality mark is already in display form: every mark comes
        # from a precomposed letter, whose decomposition has them in Vietnamese order (quality, then tone).
        return text
    return unicodedata.normalize("NFC", _MISORDERED.sub(r"\2\1", unicodedata.normalize("NFD", text)))


def fold(text: str) -> str:
    """Search form: repaired, casefolded, without marks, đ → d, whitespace collapsed."""
    if text.isascii():  # most catalog text: casefold is lower() there, and there are no marks
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFD", repair(text).casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).replace("đ", "d")
    return " ".join(stripped.split())
