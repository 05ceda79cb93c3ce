"""What the tracker tells its consumer, in capture order.

Events are ``NamedTuple``\\ s: immutable, slotted, and cheap to build on the hot
path (a ``Data`` per segment). They hold the ``direction`` index (0 = sender
of the connection's first frame); ``side`` (``"client"``/``"server"``) is read from
the connection when asked, so it follows a later ``Connection.set_client``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from .connection import Connection

Side = Literal["client", "server"]
FlagName = Literal["SYN", "SYNACK", "FIN", "RST"]


class ConnectionStart(NamedTuple):
    """A new connection (a new 4-tuple, or a new SYN on a finished one)."""

    conn: Connection


class Data(NamedTuple):
    """In-order stream bytes from ``offset`` on; ``frame`` completed them (tshark's reassembly frame)."""

    conn: Connection
    direction: int
    offset: int
    data: bytes
    frame: int
    time_ns: int

    @property
    def side(self) -> Side:
        """``"client"`` or ``"server"``, as the connection names this direction now."""
        return self.conn.side_of(self.direction)


class Gap(NamedTuple):
    """``length`` stream bytes from ``offset`` that are not in the capture; resume after them."""

    conn: Connection
    direction: int
    offset: int
    length: int
    frame: int

    @property
    def side(self) -> Side:
        """``"client"`` or ``"server"``, as the connection names this direction now."""
        return self.conn.side_of(self.direction)


class Flag(NamedTuple):
    """A SYN, SYN-ACK, FIN or RST sent by ``side``."""

    conn: Connection
    direction: int
    flag: FlagName
    frame: int
    time_ns: int

    @property
    def side(self) -> Side:
        """``"client"`` or ``"server"``, as the connection names this direction now."""
        return self.conn.side_of(self.direction)


class Overlap(NamedTuple):
    """``frame`` resent the ``length`` bytes at ``offset`` that ``earlier_frame`` delivered, and
    they differ (somewhere in that range).

    The first-seen bytes are kept, as tshark does by default.
    """

    conn: Connection
    direction: int
    frame: int
    earlier_frame: int
    offset: int
    length: int

    @property
    def side(self) -> Side:
        """``"client"`` or ``"server"``, as the connection names this direction now."""
        return self.conn.side_of(self.direction)


class ConnectionEnd(NamedTuple):
    """No more events for this connection (both FINs delivered, RST, new SYN, or end of capture)."""

    conn: Connection


Event = ConnectionStart | Data | Gap | Flag | Overlap | ConnectionEnd
