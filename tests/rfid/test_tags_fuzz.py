"""Fuzzing every tag decoder: arbitrary bytes give a decoded tag or a TagFormatError, nothing else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.tags import LibraryTag, TagFormatError, decode, encode, iso28560_2, iso28560_3, rfid501
from edge.tags import compaction as c

FUZZ = settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# memory that starts like a real tag, so the fuzzer gets past the signature checks
_SEEDS = [
    encode(LibraryTag(primary_item_id="TV000123", owner_isil="VN-HNI", title="Số đỏ"), "iso28560-3"),
    encode(LibraryTag(primary_item_id="123456789012", owner_isil="VN-HNI", shelf_location="QA268"), "iso28560-2"),
    encode(LibraryTag(primary_item_id="3123400012"), "3m-rfid501"),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    memory = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(memory) - 1))
        memory[pos] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(memory)))
    return bytes(memory[:cut]) if draw(st.booleans()) else bytes(memory)


memory_strategy = st.one_of(st.binary(max_size=112), mutated())


def _survives(decoder: Callable[[bytes], LibraryTag], data: bytes) -> None:
    try:
        tag = decoder(data)
    except TagFormatError:
        return
    assert isinstance(tag, LibraryTag)


@FUZZ
@given(memory_strategy)
def test_fuzz_autodetect(data: bytes) -> None:
    _survives(decode, data)


@pytest.mark.parametrize("decoder", [iso28560_3.decode, iso28560_2.decode, rfid501.decode], ids=["p3", "p2", "501"])
@FUZZ
@given(data=memory_strategy)
def test_fuzz_each_format(decoder: Callable[[bytes], LibraryTag], data: bytes) -> None:
    _survives(decoder, data)


@FUZZ
@given(st.integers(0, 7), st.binary(max_size=24))
def test_fuzz_compaction(scheme: int, data: bytes) -> None:
    try:
        c.decompact(scheme, data)
    except TagFormatError:
        pass
    try:
        c.decode_isil(data)
    except TagFormatError:
        pass
