"""A finding: one code, the frame that proves it, and words for the ticket."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pcaptls.diagnose.registry import Severity, kind

if TYPE_CHECKING:
    from pcaptls.report.spool import RowSpool


@dataclass(frozen=True, slots=True)
class Finding:
    conn_id: int | None  # None for capture-wide findings
    code: str
    severity: Severity
    frame: int | None
    time_ns: int | None
    summary: str
    detail: str
    remedy: str

    @classmethod
    def make(
        cls,
        code: str,
        conn_id: int | None,
        frame: int | None,
        time_ns: int | None,
        summary: str,
        *,
        detail: str = "",
        remedy: str = "",
        retest: str | None = None,
    ) -> Finding:
        """Fill the parts the registry owns (severity, explanation, remedy, log texts)."""
        k = kind(code)
        words = ""
        if k.log_texts:
            words = " Stacks typically log: " + "; ".join(f"“{t}”" for t in k.log_texts) + "."
        full_detail = (detail + " " if detail else "") + k.explanation + words
        full_remedy = (remedy + " " if remedy else "") + k.remedy
        if retest:
            full_remedy += f" Re-test live: `{retest}`"
        return cls(conn_id, code, k.severity, frame, time_ns, summary, full_detail.strip(), full_remedy.strip())


def worst_first(rows: Iterable[dict[str, Any]]) -> RowSpool:
    """Findings rows ordered errors first, then by connection and frame (ties keep their
    order). An external sort: a large capture's findings are never all in memory."""
    from pcaptls.report.spool import sorted_rows

    return sorted_rows(rows, _worst_first_key)


_RANK = {"error": 0, "warning": 1, "info": 2}


def _worst_first_key(r: dict[str, Any]) -> tuple[int, int, int]:
    conn = r.get("conn_id")
    frame = r.get("frame")
    return (
        _RANK.get(str(r.get("severity")), 3),
        conn if isinstance(conn, int) else -1,
        frame if isinstance(frame, int) else 0,
    )
