"""File formats, byte orders, resolutions and compressions: the same frames whatever the wrapping.

The variants in fixtures/captures/formats/ are rewritten from one real capture
by fixtures/make_format_variants.sh (editcap, gzip/xz/bzip2/zstd, struct).
Frame data must equal what tshark reads from the same file (-x hex) and times
must equal tshark's frame.time_epoch.
"""

from __future__ import annotations

import io
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import tshark

from pcaptls.capture import open_capture

FORMATS = tshark.ROOT / "fixtures" / "captures" / "formats"
SOURCE = tshark.ROOT / "fixtures" / "external" / "zeek" / "tls-1.2-handshake-failure.pcap"
SAME_PACKETS = [
    "le-usec.pcap", "le-nsec.pcap", "be-usec.pcap", "kuznetzov.pcap", "le.pcapng", "be.pcapng",
    "tsresol-offset.pcapng", "spb.pcapng", "opb.pcapng", "le-usec.pcap.gz", "le-usec.pcap.xz",
    "le-usec.pcap.bz2", "le-usec.pcap.zst", "le.pcapng.gz", "le.pcapng.xz", "le.pcapng.bz2",
    "le.pcapng.zst", "noext-zstd.bin",
]



def _frames(path: Path) -> list[tuple[int, int, int, bytes, int]]:
    with open_capture(path) as r:
        return [tuple(f) for f in r]  # type: ignore[misc]


def _tshark_frames(path: Path) -> dict[int, tuple[str, int, int]]:
    rows = tshark.fields(str(path), "frame.number", "frame.time_epoch", "frame.len", "frame.cap_len")
    return {int(n): (t, int(ln), int(cl)) for n, t, ln, cl in rows}


def _ns(epoch: str) -> int:
    return int(Decimal(epoch) * 1_000_000_000) if epoch else 0


_TOOLS = {".gz": "gzip", ".xz": "xz", ".bz2": "bzip2", ".zst": "zstd", ".bin": "zstd"}


@pytest.mark.parametrize("name", SAME_PACKETS)
def test_variant_has_the_source_frames(name: str, tmp_path: Path) -> None:
    source = _frames(SOURCE)
    frames = _frames(FORMATS / name)
    assert [(n, lt, d, o) for n, _, lt, d, o in frames] == [
        (n, lt, d, o) for n, _, lt, d, o in source
    ]
    plain = FORMATS / name
    tool = _TOOLS.get(plain.suffix)
    if tool:  # tshark 4.0 reads no xz or bzip2: decompress with the command-line tool
        plain = tmp_path / "plain"
        plain.write_bytes(subprocess.run([tool, "-dc", str(FORMATS / name)],
                                         capture_output=True, check=True).stdout)
    ref = _tshark_frames(plain)
    for n, t, _, data, orig in frames:
        t_ref, len_ref, cap_ref = ref[n]
        assert t == _ns(t_ref)  # SPB frames have no time: tshark shows none, we say 0
        assert (orig, len(data)) == (len_ref, cap_ref)


def test_multiple_interfaces_link_types_and_resolutions() -> None:
    path = FORMATS / "multi-if.pcapng"
    ref = tshark.fields(str(path), "frame.number", "frame.time_epoch", "frame.interface_id",
                        "frame.encap_type")
    with open_capture(path) as r:
        frames = list(r)
        ifaces = r.interfaces
    assert len(frames) == len(ref)
    assert [i.link_type for i in ifaces] == [1, 113]
    assert [(i.ts_mul, i.ts_div) for i in ifaces] == [(1000, 1), (1, 1)]  # usec, nsec
    for f, (n, t, iface, _) in zip(frames, ref, strict=True):
        assert f.number == int(n)
        assert f.time_ns == _ns(t)
        assert f.link_type == ifaces[int(iface)].link_type


def test_decryption_secrets_block_is_kept() -> None:
    with open_capture(FORMATS / "dsb.pcapng") as r:
        n = sum(1 for _ in r)
        secrets = r.decryption_secrets
    keylog = (tshark.ROOT / "fixtures" / "external" / "illustrated-tls13" / "keylog.txt").read_bytes()
    assert n == 22
    assert secrets == [keylog]


def test_sll2_live_capture_frames_equal_tshark() -> None:
    path = FORMATS / "sll2-outcomes.pcap"
    ref = _tshark_frames(path)
    frames = _frames(path)
    assert {f[2] for f in frames} == {276}
    assert len(frames) == len(ref)
    for n, t, _, data, orig in frames:
        assert (t, orig, len(data)) == (_ns(ref[n][0]), ref[n][1], ref[n][2])


def test_compression_is_chosen_by_magic_and_progress_is_counted() -> None:
    path = FORMATS / "noext-zstd.bin"
    with open_capture(path) as r:
        assert r.compression == "zstd"
        assert r.size == path.stat().st_size
        list(r)
        assert r.bytes_read == r.size


@pytest.mark.parametrize("name", ["le-usec.pcap", "le.pcapng.xz", "le-usec.pcap.gz"])
def test_reading_a_stream_without_seek(name: str) -> None:
    class NoSeek(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._b = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            chunk = self._b.read(min(len(b), 7))  # short reads, like a pipe
            b[: len(chunk)] = chunk
            return len(chunk)

        def seek(self, *a: object) -> int:
            raise OSError("not seekable")

    path = FORMATS / name
    with open_capture(NoSeek(path.read_bytes())) as r:  # type: ignore[arg-type]
        frames = [tuple(f) for f in r]
        assert r.size is None
    assert frames == _frames(FORMATS / "le-usec.pcap") or frames == _frames(path)


def test_standard_input_dash() -> None:
    code = (
        "from pcaptls.capture import open_capture\n"
        "r = open_capture('-')\n"
        "print(sum(1 for _ in r), r.name, r.size)\n"
    )
    p = subprocess.run(
        [__import__("sys").executable, "-c", code],
        stdin=(FORMATS / "le.pcapng.gz").open("rb"), capture_output=True, check=True,
        cwd=tshark.ROOT, timeout=60,
    )
    assert p.stdout.decode().split() == ["11", "<stdin>", "None"]
