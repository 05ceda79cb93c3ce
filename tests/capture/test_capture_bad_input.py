"""Bad input: a one-line CaptureError when nothing can be read, partial frames plus a
note when something can; never another exception, never a hang."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcaptls.capture import open_capture
from pcaptls.capture.decode import Decoder
from pcaptls.errors import CaptureError

ROOT = Path(__file__).resolve().parents[2]
PCAP = ROOT / "fixtures" / "external" / "ndpi" / "tls_verylong_certificate.pcap"
PCAPNG = ROOT / "fixtures" / "external" / "ndpi" / "tls_alert.pcap"  # a pcapng despite the name
GZ = ROOT / "fixtures" / "captures" / "formats" / "le.pcapng.gz"


def _read(data: bytes) -> tuple[list[tuple[int, int, int, bytes, int]], list[str], int | None]:
    with open_capture(io.BytesIO(data)) as r:
        frames = [tuple(f) for f in r]
        return frames, r.notes, r.truncated_at_frame  # type: ignore[return-value]


def _one_line(e: CaptureError) -> str:
    msg = str(e)
    assert msg and "\n" not in msg
    return msg


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.pcap"
    p.write_bytes(b"")
    with pytest.raises(CaptureError) as e:
        open_capture(p)
    assert _one_line(e.value) == f"{p}: empty file"


def test_text_file(tmp_path: Path) -> None:
    p = tmp_path / "x.txt"
    p.write_bytes(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
    with pytest.raises(CaptureError) as e:
        open_capture(p)
    assert _one_line(e.value) == f"{p}: not a capture file (pcap or pcapng; starts with 'GET ')"


def test_random_bytes(tmp_path: Path) -> None:
    p = tmp_path / "random.bin"
    p.write_bytes(bytes.fromhex("8d1e77f2") + os.urandom(500))
    with pytest.raises(CaptureError) as e:
        open_capture(p)
    assert "not a capture file" in _one_line(e.value)


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CaptureError) as e:
        open_capture(tmp_path)
    assert _one_line(e.value) == f"{tmp_path}: is a directory"
    with pytest.raises(CaptureError) as e:
        open_capture(tmp_path / "nope.pcap")
    assert _one_line(e.value) == f"{tmp_path / 'nope.pcap'}: no such file"


def test_compressed_text_is_not_a_capture(tmp_path: Path) -> None:
    import gzip

    p = tmp_path / "notes.gz"
    p.write_bytes(gzip.compress(b"just some text\n"))
    with pytest.raises(CaptureError) as e:
        open_capture(p)
    assert "gzip data is not a capture file" in _one_line(e.value)


def test_unknown_link_type_only(tmp_path: Path) -> None:
    hdr = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 999)
    rec = struct.pack("<IIII", 1, 0, 4, 4) + b"abcd"
    p = tmp_path / "odd.pcap"
    p.write_bytes(hdr + rec + rec)
    dec = Decoder()
    with open_capture(p) as r:
        frames = list(r)
        assert [dec.decode(f) for f in frames] == [None, None]
    with pytest.raises(CaptureError) as e:
        dec.check_decodable(str(p), len(frames))
    assert "unknown link type 999" in _one_line(e.value)


def test_corrupt_record_length_stops_with_a_note() -> None:
    # suricata-verify's file has a record claiming 4 MB: tshark calls it corrupt too.
    p = ROOT / "fixtures/external/suricata-verify/bug-1450-04/tls_DER-incomplete-header.pcap"
    with open_capture(p) as r:
        n = sum(1 for _ in r)
        assert r.truncated_at_frame == n + 1
        assert "claims 4325376 bytes" in r.notes[0]


def _check_prefix(data: bytes, full: list[tuple[int, int, int, bytes, int]]) -> None:
    try:
        frames, notes, cut = _read(data)
    except CaptureError as e:
        _one_line(e)
        return
    assert frames == full[: len(frames)]
    if notes:
        assert cut == len(frames) + 1
    else:
        assert cut is None


@pytest.mark.parametrize("path", [PCAP, PCAPNG, GZ], ids=["pcap", "pcapng", "gz"])
def test_cut_at_every_offset_of_the_first_2k(path: Path) -> None:
    raw = path.read_bytes()
    full = _read(raw)[0]
    for end in range(min(2048, len(raw))):
        _check_prefix(raw[:end], full)


@pytest.mark.parametrize("path", [PCAP, PCAPNG], ids=["pcap", "pcapng"])
def test_cut_mid_record_keeps_the_frames_before(path: Path) -> None:
    raw = path.read_bytes()
    full = _read(raw)[0]
    frames, notes, cut = _read(raw[: len(raw) - 10])
    assert frames == full[:-1]
    assert cut == len(full)
    assert "cut in the middle of a record" in notes[0]


_RAWS = {p: p.read_bytes() for p in (PCAP, PCAPNG, GZ)}
_FULL = {p: _read(r)[0] for p, r in _RAWS.items()}


@settings(max_examples=150, deadline=None)
@given(which=st.sampled_from([PCAP, PCAPNG, GZ]), frac=st.floats(0, 1))
def test_cut_anywhere(which: Path, frac: float) -> None:
    raw = _RAWS[which]
    _check_prefix(raw[: int(len(raw) * frac)], _FULL[which])


@settings(max_examples=150, deadline=None)
@given(which=st.sampled_from([PCAP, PCAPNG]), pos=st.integers(0, 4000), value=st.integers(0, 255))
def test_corrupt_byte_anywhere(which: Path, pos: int, value: int) -> None:
    raw = bytearray(_RAWS[which])
    raw[pos % len(raw)] = value
    try:
        frames, _, _ = _read(bytes(raw))
    except CaptureError as e:
        _one_line(e)
        return
    dec = Decoder()
    for f in frames:
        dec.decode(f)  # never raises


def _sample_frames() -> list[tuple[int, bytes]]:
    """A few real frames of every link type the decoder knows (from the corpus)."""
    out = []
    for name in ("zeek/pppoe-over-qinq.pcap", "ndpi/vxlan.pcap", "ndpi/dns2tcp_tunnel.pcap",
                 "zeek/openjdk-25.0.2-zeek.org.pcap", "ndpi/selfsigned.pcap",
                 "zeek/ml-dsa-44-cert.pcap", "suricata-verify/linktype-228/flow-test-01.pcap",
                 "ndpi/http_ipv6.pcap"):
        with open_capture(ROOT / "fixtures" / "external" / name) as r:
            out += [(f.link_type, f.data) for f in list(r)[:6]]
    return out


_SAMPLES = _sample_frames()


@settings(max_examples=400, deadline=None)
@given(which=st.integers(0, len(_SAMPLES) - 1), cut=st.integers(0, 2000),
       edits=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=6))
def test_decoder_never_raises_on_damaged_frames(which: int, cut: int, edits: list[tuple[int, int]]) -> None:
    from pcaptls.capture.frame import Frame

    link, data = _SAMPLES[which]
    b = bytearray(data[:cut])
    for pos, value in edits:
        if b:
            b[pos % len(b)] = value
    dec = Decoder()
    dec.decode(Frame(1, 0, link, bytes(b), len(data)))
    dec.decode(Frame(2, 0, link, bytes(b), len(b)))
