"""Fuzzing the frame parser: any bytes, cut anywhere, never crash; valid frames survive any cutting."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.sip2.codec import REQUEST_FIXED_LENGTH, Sip2Error, parse_request
from server.sip2.framing import BadBytes, FrameBuffer, Oversized
from tests.sip2.rawclient import frame

CODES = sorted(REQUEST_FIXED_LENGTH)
# bytes biased towards the ones that matter to SIP2 framing (CR, LF, delimiter, NUL, trailer letters, UTF-8)
TABLE = bytes((b"\r\n|^\x00AYZ09 \x16\xe1\xbb\x87\xff" * 10)[:128]) + bytes(range(128, 256))
noise = st.binary(max_size=160).map(lambda raw: raw.translate(TABLE))


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=noise,
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=3),
    code=st.sampled_from(CODES),
    encoding=st.sampled_from(["utf-8", "cp850", "ascii"]),
    delimiter=st.sampled_from(["|", "^"]),
)
def test_framer_and_parser_never_crash(data: bytes, cuts: list[int], code: str, encoding: str, delimiter: str) -> None:
    framer = FrameBuffer(256)
    payload = code.encode() + data
    points = sorted({c % (len(payload) + 1) for c in cuts})
    pieces = [payload[a:b] for a, b in zip([0, *points], [*points, len(payload)], strict=True)]
    for piece in pieces:
        for event in framer.feed(piece):
            if isinstance(event, Oversized | BadBytes):
                continue
            assert b"\r" not in event and b"\x00" not in event and len(event) <= 256
            try:
                request = parse_request(event, encoding, delimiter=delimiter)
            except Sip2Error:
                continue
            assert request.code in REQUEST_FIXED_LENGTH


@settings(max_examples=500, deadline=None)
@given(
    bodies=st.lists(
        st.tuples(st.sampled_from(["17", "35", "23"]), st.text(alphabet="ABCỆệđ0123 ", max_size=20)),
        min_size=1,
        max_size=5,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=8),
    crlf=st.booleans(),
)
def test_valid_frames_survive_any_cutting(bodies: list[tuple[str, str]], cuts: list[int], crlf: bool) -> None:
    date = "20261126    100000"
    frames = []
    for n, (code, text) in enumerate(bodies):
        fixed = "000" + date if code == "23" else date
        frames.append(frame(f"{code}{fixed}AOX|AB{text}|", n % 10))
    stream = b"".join(f.replace(b"\r", b"\r\n") if crlf else f for f in frames)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    framer = FrameBuffer(8192)
    got: list[bytes] = []
    for a, b in zip([0, *points], [*points, len(stream)], strict=True):
        got += [e for e in framer.feed(stream[a:b]) if isinstance(e, bytes)]
    assert got == [f[:-1] for f in frames]
    for raw, (_code, text) in zip(got, bodies, strict=True):
        assert parse_request(raw).get("AB") == text.strip("\r\n")
