"""TCP connection tracking and reassembly (sans-IO): segments in, stream events out."""

from .connection import Connection, Direction
from .events import (
    ConnectionEnd,
    ConnectionStart,
    Data,
    Event,
    Flag,
    Gap,
    Overlap,
    Side,
)
from .tracker import TcpTracker

__all__ = [
    "Connection", "ConnectionEnd", "ConnectionStart", "Data", "Direction", "Event", "Flag",
    "Gap", "Overlap", "Side", "TcpTracker",
]
