"""Where `pcaptls analyze` spends its time on one capture, by phase, in this process.

    python bench/phases.py CAPTURE [--slow] [--cprofile N]

Phases are timed with wrappers around the pipeline's methods (a few hundred thousand
calls at most, so the wrappers cost little): the fast lane's loop, the slow path per
frame (decode, TCP, TLS, SIP), the TLS layer's share of it, the judging of each ended
connection (evidence, certificates, rules, rows) and the tables at the end. ``--slow``
turns the fast lane off (``PCAPTLS_FAST=0``); ``--cprofile N`` also prints the N
functions with the most own time (cProfile roughly doubles the time of the loop).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _wrap(owner: Any, name: str, acc: dict[str, float], label: str) -> None:
    f: Callable[..., Any] = getattr(owner, name)

    def timed(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            acc[label] = acc.get(label, 0.0) + time.perf_counter() - t

    setattr(owner, name, timed)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture")
    ap.add_argument("--slow", action="store_true", help="without the fast lane")
    ap.add_argument("--cprofile", type=int, default=0, metavar="N")
    args = ap.parse_args(argv)
    if args.slow:
        os.environ["PCAPTLS_FAST"] = "0"
    t0 = time.perf_counter()
    from pcaptls import fastpath, pipeline
    from pcaptls.analysis import Settings
    from pcaptls.tls.connection import TlsConnection

    imported = time.perf_counter() - t0
    acc: dict[str, float] = {}
    _wrap(fastpath, "run_pcap", acc, "fast loop (with the slow frames in it)")
    _wrap(pipeline.Pipeline, "_pass", acc, "pass (loop + connections open at the end)")
    _wrap(pipeline.Pipeline, "_slow_frame", acc, "slow path frames")
    _wrap(TlsConnection, "feed", acc, "  of which TLS layer (records, handshake parsing)")
    _wrap(pipeline.Pipeline, "_finish", acc, "judging ended connections (evidence, x509, rules)")
    _wrap(pipeline.Pipeline, "_result", acc, "tables and capture-wide findings")
    t1 = time.perf_counter()
    if args.cprofile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        a = prof.runcall(pipeline.analyze_file, args.capture, Settings())
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.cprofile)
    else:
        a = pipeline.analyze_file(args.capture, Settings())
    total = time.perf_counter() - t1
    print(f"{args.capture}: {a.stats['frames']} frames, "
          f"{len(a.tables['connections'].rows)} connections, fast lane "
          f"{'off' if args.slow else 'on'}")
    print(f"{'imports':52s} {imported:7.2f} s")
    for label, secs in acc.items():
        print(f"{label:52s} {secs:7.2f} s")
    print(f"{'analyze_file in all':52s} {total:7.2f} s")


if __name__ == "__main__":
    main()
