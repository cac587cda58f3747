from __future__ import annotations

from server.catalog.sortkey import vi_sort_key


def test_vietnamese_alphabet_tones_and_case() -> None:
    words = "dz đa ba bạ bá bã bả bà âm ăn anh an Ba".split()
    assert sorted(words, key=vi_sort_key) == "an anh ăn âm ba Ba bà bả bã bá bạ dz đa".split()


def test_words_and_misordered_marks() -> None:
    assert vi_sort_key("Ché\u0302") == vi_sort_key("Chế")
    assert sorted(["an b", "anh", "an"], key=vi_sort_key) == ["an", "an b", "anh"]
    assert vi_sort_key("x" * 500) and len(vi_sort_key("x" * 500)) == 255


def test_isbn_normalisation_refuses_ean_893() -> None:
    from server.catalog.records import normalise_isbn

    assert normalise_isbn("8934974123456") is None
    assert normalise_isbn("0-306-40615-2 (pbk.)") == "9780306406157"
    assert normalise_isbn("978-604-1-00000-0") is None or normalise_isbn(
        "978-604-1-00000-0",
    ).startswith("978604")
