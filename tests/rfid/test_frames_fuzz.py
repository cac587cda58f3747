"""Fuzzing the reader-side and host-side frame parsers: resynchronisation, never a crash, never a bad frame."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.iso15693 import crc16_genibus, crc16_mcrf4xx
from edge.readers.bibliotheca810 import M3FrameParser
from edge.readers.bibliotheca810 import build_frame as m3_frame
from edge.readers.errors import ProtocolError
from edge.readers.feig import FeigFrame, FeigFrameParser
from edge.readers.feig import build_frame as feig_frame
from edge.readers.pcsc import parse_tlvs
from edge.readers.sim.tagfile import TagFileError, parse_tag

FUZZ = settings(max_examples=10_000, deadline=None)
# the structured resynchronisation properties cost more per example than raw bytes
RESYNC = settings(max_examples=2_000, deadline=None)

feig_requests = st.builds(
    lambda cmd, data, adv: feig_frame(cmd, data, advanced=adv),
    st.integers(0, 255),
    st.binary(max_size=16),
    st.booleans(),
)
m3_frames = st.builds(m3_frame, st.integers(0, 255), st.binary(max_size=16))
garbage = st.binary(max_size=6)


@RESYNC
@given(st.lists(st.tuples(garbage, feig_requests), max_size=3), st.integers(1, 16))
def test_feig_parser_finds_frames_between_garbage(parts: list[tuple[bytes, bytes]], chunk: int) -> None:
    stream = b"".join(g + f for g, f in parts)
    parser = FeigFrameParser(responses=False)
    frames: list[FeigFrame] = []
    for i in range(0, len(stream), chunk):
        frames += parser.feed(stream[i : i + chunk])
    for frame in frames:  # whatever came out is a frame with a valid CRC
        raw = frame.encode()
        assert crc16_mcrf4xx(raw[:-2]) == int.from_bytes(raw[-2:], "little")
    if all(not g for g, _ in parts):
        assert [f.encode() for f in frames] == [f for _, f in parts]


@RESYNC
@given(st.lists(st.tuples(garbage, m3_frames), max_size=3), st.integers(1, 16))
def test_3m_parser_finds_frames_between_garbage(parts: list[tuple[bytes, bytes]], chunk: int) -> None:
    stream = b"".join(g + f for g, f in parts)
    parser = M3FrameParser()
    frames = []
    for i in range(0, len(stream), chunk):
        frames += parser.feed(stream[i : i + chunk])
    for frame in frames:
        raw = frame.encode()
        assert crc16_genibus(raw[1:-2]) == int.from_bytes(raw[-2:], "big")
    if all(not g for g, _ in parts):
        assert [f.encode() for f in frames] == [f for _, f in parts]
    # the last frame always survives garbage in front of it when nothing follows it
    if parts and parts[-1][1] not in b"".join(g for g, _ in parts):
        assert frames and frames[-1].encode() == parts[-1][1]


@FUZZ
@given(st.binary(max_size=64))
def test_feig_response_parser_random_bytes(data: bytes) -> None:
    FeigFrameParser(responses=True).feed(data)
    M3FrameParser().feed(data)


@FUZZ
@given(st.binary(max_size=48))
def test_tlv_parser(data: bytes) -> None:
    try:
        parse_tlvs(data)
    except ProtocolError:
        pass


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["uid", "afi", "dsfid", "memory", "block_size", "block_count", "item", "format", "eas"]),
        st.one_of(st.text(max_size=20), st.integers(-5, 300), st.booleans(), st.none()),
    )
)
def test_tag_file_entries(entry: dict[str, object]) -> None:
    try:
        parse_tag(entry)
    except TagFileError:
        pass
