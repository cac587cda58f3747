"""Vietnamese alphabetical order without ICU: a sort key that plain binary string comparison orders correctly.

The alphabet is a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y (with f j w z kept for foreign
words). Tones come second (none < huyền < hỏi < ngã < sắc < nặng) and case third, as in ICU's ``vi``
collation. The key uses only printable ASCII so that PostgreSQL ``COLLATE "C"`` and SQLite's binary
comparison both order it correctly.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from server.catalog.folding import repair

_ALPHABET = ["a", "ă", "â", "b", "c", "d", "đ", "e", "ê", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
             "ô", "ơ", "p", "q", "r", "s", "t", "u", "ư", "v", "w", "x", "y", "z"]  # fmt: skip
# Primary weights: word gap "!" < digits "0".."9" < letters from "A" on (33 letters: "A".."Z", "a"..."g").
_PRIMARY = {letter: chr((ord("A") + i) if i < 26 else (ord("a") + i - 26)) for i, letter in enumerate(_ALPHABET)}
_PRIMARY.update({str(d): str(d) for d in range(10)})
_OTHER_LETTER = "~"
_TONES = {"\u0300": "1", "\u0309": "2", "\u0303": "3", "\u0301": "4", "\u0323": "5"}
_QUALITY = {"\u0306": "\u0306", "\u0302": "\u0302", "\u031b": "\u031b"}  # breve, circumflex, horn
_LEVEL_GAP = " "  # sorts below every primary weight
MAX_LENGTH = 255


@lru_cache(maxsize=4096)
def _weights(char: str) -> tuple[str, str, str]:
    """Primary weight, tone and case of one character."""
    base, tone = _split(char)
    weight = _PRIMARY.get(base)
    if weight is None:
        folded = unicodedata.normalize("NFD", base)[0]
        weight = _PRIMARY.get(folded, _OTHER_LETTER)
    return weight, tone, "1" if char.isupper() else "0"


def _split(char: str) -> tuple[str, str]:
    """The base letter (with its vowel-quality mark, lower case) and the tone of an NFC character."""
    decomposed = unicodedata.normalize("NFD", char.lower())
    base = decomposed[0]
    tone = "0"
    quality = ""
    for mark in decomposed[1:]:
        if mark in _TONES:
            tone = _TONES[mark]
        elif mark in _QUALITY:
            quality += mark
    return unicodedata.normalize("NFC", base + quality), tone


def vi_sort_key(text: str, length: int = MAX_LENGTH) -> str:
    """Key ordering ``text`` in Vietnamese alphabetical order (letters, then tones, then case)."""
    primary: list[str] = []
    secondary: list[str] = []
    tertiary: list[str] = []
    for word in repair(text).split():
        letters = [c for c in word if c.isalnum()]
        if not letters:
            continue
        if primary:
            primary.append("!")
        for char in letters:
            weight, tone, case = _weights(char)
            primary.append(weight)
            secondary.append(tone)
            tertiary.append(case)
    key = "".join(primary) + _LEVEL_GAP + "".join(secondary) + _LEVEL_GAP + "".join(tertiary)
    return key[:length]
