"""pcaptls: why did the TLS handshakes in this SIP capture fail?

``pcaptls.analyze(path)`` runs every layer over a capture and returns an
:class:`~pcaptls.analysis.Analysis` whose tables are pandas DataFrames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Analysis", "Settings", "__version__", "analyze"]

if TYPE_CHECKING:
    from pcaptls.analysis import Analysis, Settings


def analyze(path: Any, **options: Any) -> Analysis:
    """Analyse a capture (file, directory or glob); options are :class:`Settings` fields."""
    from pcaptls.analysis import analyze as _analyze

    return _analyze(path, **options)


def __getattr__(name: str) -> Any:
    if name in ("Analysis", "Settings"):
        from pcaptls import analysis

        return getattr(analysis, name)
    raise AttributeError(name)
