"""Time pcaptls against tshark on large captures, in alternating pairs; print a Markdown table.

Every measurement is a fresh child process (so start-up is counted, as a user
sees it); its peak RSS comes from ``os.wait4`` on that very child. Rounds run
the tools in the order pcaptls, tshark, pcaptls, tshark, ... so a slow patch of
the shared machine hurts both sides alike; the table shows medians.

    python bench/run.py                       # 10k, 100k, 1M (generated if missing)
    python bench/run.py --sizes 10k,100k --rounds 5
    python bench/run.py bench/out/some.pcap   # any capture
    python bench/run.py --readers --sizes 1M  # raw reader comparison
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable  # run with /work/venv/bin/python: a pyenv shim adds ~0.2 s per start
sys.path.insert(0, str(HERE))
TIME = shutil.which("time", path="/usr/bin:/bin")

HANDSHAKE_FILTER = "tls.handshake.type in {1,2,11} or tls.alert_message"
HANDSHAKE_FIELDS = (
    "frame.number", "tcp.stream", "tls.handshake.type", "tls.handshake.version",
    "tls.handshake.extensions_server_name", "tls.handshake.ciphersuite", "tls.alert_message.desc",
)


@dataclass(frozen=True, slots=True)
class Tool:
    """One row: a name, its command (FILE replaced by the capture), and what it is compared to."""

    name: str
    argv: tuple[str, ...]
    versus: str | None = None  # the tshark row this one's ratio is taken against


def _driver(mode: str, versus: str | None = None) -> Tool:
    return Tool(mode, (PY, str(HERE / "driver.py"), mode, "FILE"), versus)


TSHARK_CONV = Tool("tshark conv,tcp", ("tshark", "-n", "-r", "FILE", "-q", "-z", "conv,tcp"))
TSHARK_HS = Tool("tshark handshake fields", (
    "tshark", "-n", "-r", "FILE", "-Y", HANDSHAKE_FILTER, "-T", "fields",
    *[a for f in HANDSHAKE_FIELDS for a in ("-e", f)],
))
ANALYZE = Tool("pcaptls analyze", (PY, "-m", "pcaptls", "analyze", "FILE", "--format", "json",
                                   "-o", os.devnull), TSHARK_HS.name)

#: pairs run back to back in every round: pcaptls side first, then tshark
MAIN_PAIRS = (
    (_driver("pcaptls-tcp", TSHARK_CONV.name), TSHARK_CONV),
    (ANALYZE, TSHARK_HS),
)
READERS = (
    _driver("pcaptls-reader"), _driver("scapy-raw"), _driver("dpkt"),
    _driver("pcaptls-decode"), _driver("dpkt-decode"), _driver("pcaptls-tcp"),
)


@dataclass(slots=True)
class Result:
    tool: Tool
    seconds: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    error: str | None = None
    output: str = ""


def measure(tool: Tool, path: Path) -> tuple[float, int, int, str]:
    """Run one child; returns (wall seconds, peak RSS KiB, exit status, first line of output)."""
    argv = [str(path) if a == "FILE" else a for a in tool.argv]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryFile() as errf, tempfile.NamedTemporaryFile("r") as rss:
        if TIME:
            # ru_maxrss of a child counts the memory of the process it was forked from
            # (Linux keeps the high-water mark across exec), so a tiny /usr/bin/time
            # must be the parent, not this Python process
            argv = [TIME, "-f", "%M", "-o", rss.name, *argv]
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errf, env=env, cwd=ROOT)
        assert p.stdout is not None
        out = b""
        while chunk := p.stdout.read(1 << 16):
            if len(out) < 4096:
                out += chunk
        _, status, usage = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = rc = os.waitstatus_to_exitcode(status)
        p.stdout.close()
        errf.seek(0)
        err = errf.read()
        maxrss = usage.ru_maxrss
        if TIME:
            text = rss.read().split()
            maxrss = int(text[-1]) if text and text[-1].isdigit() else maxrss
            err = err.replace(f"Command exited with non-zero status {rc}".encode(), b"")
    line = (out.decode(errors="replace").strip().splitlines() or [""])[0]
    if rc != 0:
        line = (err.decode(errors="replace").strip().splitlines() or [""])[-1]
    return dt, maxrss, rc, line


def count_packets(path: Path) -> int:
    if shutil.which("capinfos"):
        out = subprocess.run(["capinfos", "-M", "-c", str(path)], check=True,
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Number of packets"):
                return int(line.split(":")[1])
    from driver import pcaptls_reader

    return int(pcaptls_reader(str(path)).split()[0].split("=")[1])


def bench_file(path: Path, tools: list[Tool], rounds: int) -> list[Result]:
    with open(path, "rb") as f:  # warm the page cache so the first tool is not penalised
        while f.read(1 << 24):
            pass
    results = {t.name: Result(t) for t in tools}
    for r in range(rounds):
        for t in tools:
            res = results[t.name]
            if res.error:
                continue
            dt, rss, rc, line = measure(t, path)
            print(f"  round {r + 1}: {t.name}: {dt:.2f} s, {rss / 1024:.0f} MiB"
                  + (f" (exit {rc}: {line})" if rc else ""), file=sys.stderr, flush=True)
            if rc != 0:
                res.error = f"exit {rc}: {line}"
                continue
            res.seconds.append(dt)
            res.rss_kib.append(rss)
            res.output = line
    return list(results.values())


def table(rows: list[tuple[Path, int, list[Result]]]) -> str:
    head = ("| file | packets | MB | tool | median s | packets/s | MB/s | peak RSS MiB "
            "| tshark ÷ this |\n|---|---:|---:|---|---:|---:|---:|---:|---:|")
    lines = [head]
    for path, packets, results in rows:
        mb = path.stat().st_size / 1e6
        med = {r.tool.name: statistics.median(r.seconds) for r in results if r.seconds}
        for r in results:
            if r.error or not r.seconds:
                lines.append(f"| {path.name} | {packets:,} | {mb:.0f} | {r.tool.name} | "
                             f"failed: {(r.error or '')[:90]} | | | | |")
                continue
            s = med[r.tool.name]
            ratio = ""
            if r.tool.versus and r.tool.versus in med:
                ratio = f"{med[r.tool.versus] / s:.1f}× ({r.tool.versus})"
            lines.append(
                f"| {path.name} | {packets:,} | {mb:.0f} | {r.tool.name} | {s:.2f} | "
                f"{packets / s:,.0f} | {mb / s:.0f} | {max(r.rss_kib) / 1024:.0f} | {ratio} |"
            )
    return "\n".join(lines)


def default_name(packets: int, seed: int) -> Path:
    """The generator's default output name (same rule as generate.default_name)."""
    for div, suffix in ((1_000_000, "M"), (1000, "k")):
        if packets >= div and packets % div == 0:
            return HERE / "out" / f"sip-tls-{packets // div}{suffix}-s{seed}.pcap"
    return HERE / "out" / f"sip-tls-{packets}-s{seed}.pcap"


def _size(text: str) -> int:
    mult = {"k": 1000, "M": 1_000_000}
    return int(text[:-1]) * mult[text[-1]] if text[-1] in mult else int(text)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="*", type=Path)
    p.add_argument("--sizes", default="10k,100k,1M",
                   help="standard sizes to generate (if missing) and time, when no FILE is given")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--readers", action="store_true",
                   help="compare raw readers (scapy, dpkt, pcaptls) instead of pcaptls vs tshark")
    p.add_argument("--pairs", default="tcp,analyze",
                   help="which pairs to run: tcp (pcaptls-tcp vs tshark conv,tcp), "
                        "analyze (pcaptls analyze vs tshark handshake fields)")
    args = p.parse_args(argv)

    files = list(args.files)
    if not files:
        for s in args.sizes.split(","):
            n = _size(s)
            path = default_name(n, args.seed)
            if not path.exists():  # in a child: this process stays small
                subprocess.run([PY, str(HERE / "generate.py"), "--packets", str(n),
                                "--seed", str(args.seed), "-o", str(path)], check=True)
            files.append(path)
    if args.readers:
        tools = list(READERS)
    else:
        wanted = args.pairs.split(",")
        tools = [t for key, pr in zip(("tcp", "analyze"), MAIN_PAIRS, strict=True)
                 if key in wanted for t in pr]
    rows = []
    for path in files:
        print(f"{path}:", file=sys.stderr, flush=True)
        rows.append((path, count_packets(path), bench_file(path, tools, args.rounds)))
    print(table(rows))


if __name__ == "__main__":
    main()
