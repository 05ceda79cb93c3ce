"""Run tshark as the reference dissector, isolated from personal profiles, cached per session.

Tests compare our results with what tshark says about the same file; nothing
here interprets packets itself beyond splitting tshark's text output.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OOO = ("-o", "tcp.reassemble_out_of_order:TRUE")


@functools.cache
def _config_dir() -> str:
    return tempfile.mkdtemp(prefix="pcaptls-wireshark-")


def have_tshark() -> bool:
    return shutil.which("tshark") is not None


@functools.cache
def run(path: str, *args: str) -> str:
    """tshark -n -r PATH ARGS..., stdout as text (cached per arguments)."""
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=_config_dir())
    p = subprocess.run(
        ["tshark", "-n", "-r", str(path), *args],
        capture_output=True, env=env, check=False, timeout=300,
    )
    # Exit code 2 with output: a damaged or cut file tshark read as far as it could.
    if p.returncode != 0 and not (p.returncode == 2 and p.stdout):
        raise RuntimeError(f"tshark failed on {path}: {p.stderr.decode(errors='replace')[:500]}")
    return p.stdout.decode("utf-8", "replace")


def fields(path: str, *names: str, extra: tuple[str, ...] = ()) -> list[list[str]]:
    """One row per frame with the named fields (-T fields -E separator=/t)."""
    args: list[str] = [*OOO, *extra, "-T", "fields", "-E", "separator=\t"]
    for n in names:
        args += ["-e", n]
    out = run(path, *args)
    return [line.split("\t") for line in out.splitlines()]


#: per-frame TCP facts most tests need, fetched in one run (innermost addresses)
TCP_FIELDS = (
    "frame.number", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "tcp.flags.syn",
    "tcp.flags.ack",
)


def tcp_frames(path: str) -> list[dict[str, str]]:
    """One dict per frame with TCP_FIELDS (empty strings where a field is absent)."""
    rows = fields(path, *TCP_FIELDS, extra=("-E", "occurrence=l"))
    return [dict(zip(TCP_FIELDS, r, strict=True)) for r in rows]


_MISSING = re.compile(rb"^\[(\d+) bytes missing in capture file\]\x00?$")


@dataclass
class FollowedStream:
    """tshark -z follow,tcp,raw: node 0 is the first frame's sender."""

    node0: tuple[str, int]
    node1: tuple[str, int]
    #: per node: list of bytes (present data) or int (a gap of that many bytes)
    chunks: tuple[list[bytes | int], list[bytes | int]] = field(
        default_factory=lambda: ([], [])
    )


def _endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    return host.strip("[]"), int(port)


@functools.cache
def follow_all(path: str) -> dict[int, FollowedStream]:
    """Every TCP stream of the capture, followed by tshark in one run."""
    streams = {int(r["tcp.stream"]) for r in tcp_frames(path) if r["tcp.stream"]}
    if not streams:
        return {}
    args: list[str] = [*OOO, "-q"]
    for n in sorted(streams):
        args += ["-z", f"follow,tcp,raw,{n}"]
    out = run(path, *args)
    result: dict[int, FollowedStream] = {}
    current: FollowedStream | None = None
    number = -1
    node0: tuple[str, int] | None = None
    for line in out.splitlines():
        if line.startswith("Filter: tcp.stream eq "):
            number = int(line.split()[-1])
        elif line.startswith("Node 0: "):
            node0 = _endpoint(line[8:])
        elif line.startswith("Node 1: "):
            assert node0 is not None
            current = result[number] = FollowedStream(node0, _endpoint(line[8:]))
        elif line.startswith("=") or not line.strip():
            continue
        elif current is not None and re.fullmatch(r"\t?[0-9a-f]+", line):
            node = 1 if line.startswith("\t") else 0
            data = bytes.fromhex(line.strip())
            m = _MISSING.match(data)
            current.chunks[node].append(int(m.group(1)) if m else data)
    return result


def normalize(chunks: list[bytes | int]) -> list[bytes | int]:
    """Merge neighbouring data and neighbouring gaps; drop empty pieces."""
    out: list[bytes | int] = []
    for c in chunks:
        if isinstance(c, int):
            if c == 0:
                continue
            if out and isinstance(out[-1], int):
                out[-1] += c
            else:
                out.append(c)
        else:
            if not c:
                continue
            if out and isinstance(out[-1], bytes):
                out[-1] += c
            else:
                out.append(c)
    return out
