"""Pictures of an analysis for notebooks and the HTML report (matplotlib).

Each function draws on the Axes it is given (or a new figure's) and returns it, so a
notebook can restyle it and the HTML report can save it. They read the tables'
rows, never the capture: times are int nanoseconds there, drawn as UTC dates.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from pcaptls.analysis import Analysis

#: outcome → colour; ``ok`` green, the failures warm, the rest grey
OUTCOME_COLOURS = {
    "ok": "tab:green", "alert": "tab:red", "refused": "tab:purple", "no_answer": "tab:brown",
    "reset": "tab:orange", "closed": "tab:olive", "server_silent": "tab:pink",
    "not_tls": "tab:cyan", "incomplete": "tab:gray", "midstream": "tab:blue",
}
FAILED_OUTCOMES = frozenset({"alert", "refused", "no_answer", "reset", "server_silent", "not_tls"})


def _axes(ax: Axes | None, size: tuple[float, float] = (8.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=size)
    return new


def _dt(ns: int | None) -> datetime | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(int(ns) / 1e9, UTC)


def _num(d: datetime) -> float:
    """matplotlib's date number of ``d`` (days since its epoch)."""
    from matplotlib import dates

    return float(dates.date2num(d))  # type: ignore[no-untyped-call]


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)


def timeline(result: Analysis, ax: Axes | None = None) -> Axes:
    """Each connection as a bar from its first to its last frame; failures marked ✕."""
    from matplotlib.patches import Patch

    ax = _axes(ax)
    rows = result.tables["connections"].rows
    seen: set[str] = set()
    for r in rows:
        start, end = _dt(r.get("start")), _dt(r.get("end"))
        if start is None:
            continue
        end = end or start
        outcome = str(r.get("outcome") or "unknown")
        colour = OUTCOME_COLOURS.get(outcome, "black")
        seen.add(outcome)
        x0 = _num(start)
        width = max(_num(end) - x0, 1e-9)
        ax.barh(r["conn_id"], width, left=x0, height=0.6, color=colour)
        ax.plot([x0], [r["conn_id"]], marker="o", color=colour, markersize=5)  # short ones too
        if outcome in FAILED_OUTCOMES or r.get("worst") == "error":
            ax.plot([_num(end)], [r["conn_id"]], marker="x", color="black", markersize=8)
    if not rows:
        _empty(ax, "no connections")
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis_date()
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(handles=[Patch(color=OUTCOME_COLOURS.get(o, "black"), label=o) for o in sorted(seen)],
                  title="outcome (✕ failed)", loc="best", fontsize="small")
        ax.invert_yaxis()
    ax.set_title("Connections over time")
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("connection")
    return ax


def outcomes(result: Analysis, ax: Axes | None = None) -> Axes:
    """How many connections ended each way."""
    ax = _axes(ax, (6.0, 3.5))
    counts = Counter(str(r.get("outcome") or "unknown") for r in result.tables["connections"].rows)
    names = sorted(counts, key=lambda o: (-counts[o], o))
    ax.bar(names, [counts[n] for n in names], color=[OUTCOME_COLOURS.get(n, "black") for n in names])
    if not names:
        _empty(ax, "no connections")
    ax.set_title("Connection outcomes")
    ax.set_xlabel("outcome")
    ax.set_ylabel("connections")
    return ax


def versions(result: Analysis, ax: Axes | None = None) -> Axes:
    """The negotiated version and cipher suite pairs, by how many connections use them."""
    ax = _axes(ax, (8.0, 3.5))
    counts: Counter[str] = Counter()
    for r in result.tables["connections"].rows:
        if r.get("version") or r.get("cipher"):
            counts[f"{r.get('version') or '?'}  {r.get('cipher') or '?'}"] += 1
    names = sorted(counts, key=lambda n: (-counts[n], n))
    ax.barh(names, [counts[n] for n in names], color="tab:blue")
    if not names:
        _empty(ax, "nothing negotiated")
    else:
        ax.invert_yaxis()
    ax.set_title("Versions and cipher suites in use")
    ax.set_xlabel("connections")
    ax.set_ylabel("version / cipher suite")
    return ax


def cert_expiry(result: Analysis, ax: Axes | None = None, *, today: datetime | None = None) -> Axes:
    """Each distinct certificate's validity, with the capture time and today marked."""
    ax = _axes(ax, (9.0, 4.0))
    certs: dict[str, dict[str, Any]] = {}
    for r in result.tables["certificates"].rows:
        if r.get("sha256") and r.get("not_before") is not None and r.get("not_after") is not None:
            certs.setdefault(r["sha256"], r)
    labels = []
    for i, r in enumerate(certs.values()):
        nb, na = _dt(r["not_before"]), _dt(r["not_after"])
        assert nb is not None and na is not None
        x0 = _num(nb)
        bad = r.get("verdict") not in (None, "ok")
        ax.barh(i, _num(na) - x0, left=x0, height=0.6,
                color="tab:red" if bad else "tab:green")
        labels.append(_short(str(r.get("subject") or r["sha256"][:16])))
    if certs:
        ax.set_yticks(range(len(labels)), labels, fontsize="small")
        ax.invert_yaxis()
        ax.xaxis_date()
    else:
        _empty(ax, "no certificate visible")
    capture = _dt(result.stats.get("start_ns"))
    if capture is not None:
        ax.axvline(_num(capture), color="black", linestyle="--", label="capture")
    ax.axvline(_num(today or datetime.now(UTC)), color="tab:orange", linestyle=":",
               label="today")
    ax.legend(loc="best", fontsize="small")
    ax.set_title("Certificate validity")
    ax.set_xlabel("date (UTC)")
    ax.set_ylabel("certificate (subject)")
    return ax


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class Plots:
    """``analysis.plot.timeline()`` and friends: the functions above, bound to one analysis."""

    __slots__ = ("_result",)

    def __init__(self, result: Analysis) -> None:
        self._result = result

    def timeline(self, ax: Axes | None = None) -> Axes:
        return timeline(self._result, ax)

    def outcomes(self, ax: Axes | None = None) -> Axes:
        return outcomes(self._result, ax)

    def versions(self, ax: Axes | None = None) -> Axes:
        return versions(self._result, ax)

    def cert_expiry(self, ax: Axes | None = None, *, today: datetime | None = None) -> Axes:
        return cert_expiry(self._result, ax, today=today)


ALL = {"timeline": timeline, "outcomes": outcomes, "versions": versions, "cert_expiry": cert_expiry}
