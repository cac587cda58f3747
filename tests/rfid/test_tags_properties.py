"""Round-trip properties for every tag format and every compaction scheme."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.tags import LibraryTag, decode, encode, reverse_blocks
from edge.tags import compaction as c

from .strategies import isil, part2_tags, part3_tags, rfid501_tags, text_field


def _same(a: LibraryTag, b: LibraryTag, *, skip: tuple[str, ...] = ()) -> None:
    pa = {k: v for k, v in a.present().items() if k not in skip}
    pb = {k: v for k, v in b.present().items() if k not in skip}
    assert pa == pb


@settings(max_examples=400, deadline=None)
@given(part3_tags(), st.sampled_from([4, 8]))
def test_part3_round_trip(tag: LibraryTag, block_size: int) -> None:
    memory = encode(tag, "iso28560-3", block_size=block_size)
    assert len(memory) % block_size == 0
    back = decode(memory, block_size=block_size)
    assert back.format == "iso28560-3"
    _same(tag, back)
    assert decode(reverse_blocks(memory, block_size), block_size=block_size).present() == back.present()


@settings(max_examples=400, deadline=None)
@given(part2_tags())
def test_part2_round_trip(tag: LibraryTag) -> None:
    memory = encode(tag, "iso28560-2")
    back = decode(memory, dsfid=0x06)
    assert back.format == "iso28560-2"
    _same(tag, back, skip=("set_information",))
    if tag.parts_in_set:
        assert back.set_information == f"{tag.parts_in_set:02d}{tag.part_number:02d}"


@settings(max_examples=300, deadline=None)
@given(rfid501_tags())
def test_rfid501_round_trip(tag: LibraryTag) -> None:
    back = decode(encode(tag, "3m-rfid501"))
    assert back.format == "3m-rfid501"
    assert (back.primary_item_id, back.parts_in_set, back.part_number) == (
        tag.primary_item_id,
        tag.parts_in_set,
        tag.part_number,
    )
    assert back.extras == tag.extras


@given(st.integers(min_value=0, max_value=(1 << 63) - 1))
def test_integer_compaction(value: int) -> None:
    assert c.decode_integer(c.encode_integer(str(value))) == str(value)


@given(st.text("0123456789", min_size=1, max_size=40))
def test_numeric_compaction(text: str) -> None:
    assert c.decode_numeric(c.encode_numeric(text)) == text


@given(st.text(st.characters(min_codepoint=0x41, max_codepoint=0x5F), min_size=1, max_size=40))
def test_5bit_compaction(text: str) -> None:
    assert c.decode_5bit(c.encode_5bit(text)) == text


@given(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x5F), min_size=1, max_size=40).filter(
        lambda s: not s.endswith(" ")
    )
)
def test_6bit_compaction(text: str) -> None:
    assert c.decode_6bit(c.encode_6bit(text)) == text


@given(st.text(st.characters(min_codepoint=0x00, max_codepoint=0x7E), min_size=1, max_size=40))
def test_7bit_compaction(text: str) -> None:
    assert c.decode_7bit(c.encode_7bit(text)) == text


@given(st.text(st.characters(min_codepoint=0xA0, max_codepoint=0xFF), min_size=1, max_size=20))
def test_octet_compaction(text: str) -> None:
    scheme, raw = c.compact(text)
    assert c.decompact(scheme, raw) == text


@given(text_field)
def test_utf8_and_best_choice(text: str) -> None:
    scheme, raw = c.compact(text)
    assert c.decompact(scheme, raw) == text
    assert c.decompact(c.Compaction.UTF8, c.compact(text, utf8=True)[1]) == text


@given(st.one_of(isil, st.text(st.sampled_from(sorted(c.ISIL_CHARACTERS)), min_size=1, max_size=30)))
def test_isil_compaction(text: str) -> None:
    assert c.decode_isil(c.encode_isil(text)) == text
