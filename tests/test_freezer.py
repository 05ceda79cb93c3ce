"""Freezing settled connections changes nothing but memory.

With ``hot_connections`` at 0, every connection that settles into the fast lane (both
directions protected application data) is frozen at once and thawed by the next packet
that leaves the lane, so every thaw path runs on every capture. The tables, notes and
statistics must equal the straightforward path's (no fast lane, no freezer, no cache):
the reference is ``tests/test_fast_path.py``'s, itself checked layer by layer against tshark.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_fast_path import CAPTURES, FIXTURES, KEYLOG_CASES, ROOT, _run

from pcaptls import freezer
from pcaptls.analysis import Settings
from pcaptls.pipeline import Pipeline


def _frozen_run(path: Path, settings: Settings | None = None) -> tuple[tuple[Any, ...], Pipeline]:
    made: list[Pipeline] = []
    original = Pipeline.__init__

    def init(self: Pipeline, *a: Any, **k: Any) -> None:
        original(self, *a, **k)
        self.hot_connections = 0
        made.append(self)

    Pipeline.__init__ = init  # type: ignore[method-assign]
    try:
        result = _run(path, True, settings)
    finally:
        Pipeline.__init__ = original  # type: ignore[method-assign]
    return result, made[0]


def _same_frozen(path: Path, settings: Settings | None = None) -> Pipeline:
    slow = _run(path, False, settings)
    frozen, p = _frozen_run(path, settings)
    if slow[0] != "error":
        for name in slow[0]:
            assert frozen[0][name] == slow[0][name], f"{path.name}: table {name} differs"
    assert frozen == slow
    assert p.freezer.count == 0  # every frozen connection was thawed and judged
    return p


FROZEN_SOME: list[str] = []


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_tables_are_the_same_with_every_settled_connection_frozen(path: Path) -> None:
    p = _same_frozen(path)
    if p.freezer.frozen_total:
        FROZEN_SOME.append(path.name)


KEYLOG_PAIRS = [(case, log) for i, case in enumerate(KEYLOG_CASES)
                for log in (case, KEYLOG_CASES[(i + 1) % len(KEYLOG_CASES)])]


@pytest.mark.parametrize("case, log", KEYLOG_PAIRS, ids=lambda x: str(x))
def test_with_a_key_log_tables_are_the_same_frozen(case: str, log: str) -> None:
    """With a key log, its own or another capture's: the key log stays in memory and is
    given back to a thawed connection (one it decrypts is never frozen: its lanes do not
    just count, it is read)."""
    settings = Settings(keylogs=(str(FIXTURES / "keylogs" / f"{log}.keys"),),
                        ca_bundle=str(FIXTURES / "trust"))
    p = _same_frozen(FIXTURES / "captures" / f"{case}.pcap", settings)
    assert p.freezer.frozen_total > 0 or case == log


def test_fixtures_did_freeze_connections() -> None:
    """The comparison above is not empty: real captures of registrations froze."""
    assert len(FROZEN_SOME) >= 20, FROZEN_SOME


@pytest.mark.parametrize("options", [
    ("--seed", "3"),
    ("--retransmit", "0.2", "--ipv6", "0.5", "--seed", "5"),
    ("--midstream", "0.9", "--failed", "0.2", "--interval", "2", "--seed", "6"),
], ids=["plain", "retransmits-ipv6", "midstream-failures"])
def test_generated_captures_tables_are_the_same_frozen(tmp_path: Path, options: tuple[str, ...]
                                                       ) -> None:
    """Long-lived connections with retransmissions (each thaws a connection), IPv6 and
    connections open before the capture: frozen and thawed many times, judged the same."""
    path = tmp_path / "g.pcap"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--packets", "8000",
                    "-o", str(path), *options], check=True, capture_output=True)
    p = _same_frozen(path)
    assert p.freezer.frozen_total > 50
    assert p.freezer.thawed_total == p.freezer.frozen_total
    # the file holds what is frozen at once (places are reused), not every state ever frozen
    assert p.freezer.frozen_total > 2 * p.freezer.peak
    assert p.freezer._end <= p.freezer.peak * 16 * 1024


def test_frozen_connections_leave_the_tracker(tmp_path: Path) -> None:
    """While frozen, a connection is in no table of the tracker or the pipeline: what
    stays in memory is its two lanes."""
    path = tmp_path / "g.pcap"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--packets", "6000",
                    "--seed", "4", "-o", str(path)], check=True, capture_output=True)
    p = Pipeline(str(path), Settings())
    p.hot_connections = 0
    seen: list[tuple[int, int, int]] = []
    original = p._maybe_freeze

    def freeze(c: Any) -> None:
        original(c)
        seen.append((p.freezer.count, len(p.tracker._open), len(p.conns)))

    p._maybe_freeze = freeze  # type: ignore[method-assign]
    p.run()
    frozen_at_most = max(n for n, _, _ in seen)
    assert frozen_at_most > 5
    for _frozen, tracked, conns in seen:
        assert tracked == conns  # frozen ones are in neither
    assert p.freezer.count == 0


def test_the_threshold_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PCAPTLS_HOT_CONNECTIONS", "123")
    assert freezer._hot_connections() == 123
    monkeypatch.setenv("PCAPTLS_HOT_CONNECTIONS", "nonsense")
    assert freezer._hot_connections() == freezer._DEFAULT_HOT


def test_settled_connections_are_frozen_at_the_sweeps(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The production policy: past ``hot_connections`` open, the tracker's sweeps freeze the
    settled connections. Sweeps come every 2,000 segments here instead of 65,536, so that
    a 20,000-packet capture has some."""
    from pcaptls import fastpath
    from pcaptls.tcp import tracker

    path = tmp_path / "g.pcap"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--packets", "20000",
                    "--seed", "7", "-o", str(path)], check=True, capture_output=True)
    monkeypatch.setattr(tracker, "_SWEEP_EVERY", 2000)
    monkeypatch.setattr(fastpath, "_SWEEP_EVERY", 2000)
    slow = _run(path, False)
    made: list[Pipeline] = []
    original = Pipeline.__init__

    def init(self: Pipeline, *a: Any, **k: Any) -> None:
        original(self, *a, **k)
        self.hot_connections = 10
        made.append(self)

    monkeypatch.setattr(Pipeline, "__init__", init)
    frozen = _run(path, True)
    for name in slow[0]:
        assert frozen[0][name] == slow[0][name], name
    assert frozen[1:] == slow[1:]
    p = made[0]
    assert p.freezer.frozen_total > 20
    assert p.freezer.thawed_total == p.freezer.frozen_total


@pytest.mark.parametrize("failure", ["pickle", "disk"])
def test_a_state_that_cannot_be_frozen_stays_as_it_is(tmp_path: Path, failure: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Freezing only saves memory: a state that cannot be pickled (every other one here),
    or a temporary file that cannot be written (a full disk), leaves the connection as
    it was and the tables as they would have been."""
    path = tmp_path / "g.pcap"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--packets", "6000",
                    "--seed", "8", "-o", str(path)], check=True, capture_output=True)
    calls = 0
    if failure == "pickle":
        original = freezer.Freezer._pickle

        def flaky(self: freezer.Freezer, c: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls % 2:
                raise TypeError("cannot pickle this object")
            return original(self, c)

        monkeypatch.setattr(freezer.Freezer, "_pickle", flaky)
    else:
        def full(*a: Any, **k: Any) -> Any:
            nonlocal calls
            calls += 1
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(freezer.tempfile, "TemporaryFile", full)
    p = _same_frozen(path)
    assert calls > 10
    if failure == "pickle":
        assert 0 < p.freezer.frozen_total < calls
    else:
        assert p.freezer.frozen_total == 0
