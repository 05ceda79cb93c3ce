"""State of one TCP connection: its two directions, who is the client, its outcome.

The tracker (:mod:`pcaptls.tcp.tracker`) mutates these; consumers read them and
may call :meth:`Connection.set_client` when the payload shows who the client is.
Directions are indexed 0 (the sender of the connection's first frame) and 1;
``"client"``/``"server"`` are names put on those indexes.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

from .events import Side

ClientBy = Literal["syn", "synack", "consumer", "port"]
Outcome = Literal["refused", "no_answer", "reset", "closed", "midstream", "open"]


#: the history of a direction that is over: shared, and keeps nothing (``maxlen=0``)
_RELEASED: deque[tuple[int, bytes, int]] = deque(maxlen=0)
#: the history of a direction with nothing to remember yet: shared too; the tracker puts
#: a deque of its own in place before the first append (an empty deque is ~600 bytes, and
#: most open connections of a long capture have nothing recent to remember)
EMPTY_HISTORY: deque[tuple[int, bytes, int]] = deque(maxlen=0)


class Direction:
    """Reassembly state of the bytes one endpoint sends."""

    __slots__ = (
        "base", "bytes", "fin_frames", "fin_off", "first_seq", "gap_bytes", "history",
        "history_bytes", "history_time", "next_off", "packets", "pending", "pending_bytes",
        "rst_frames",
        "skip_until", "stopped", "syn_frames",
    )

    def __init__(self) -> None:
        #: sequence number of stream offset 0 (ISN + 1 after a SYN), None until a segment is seen
        self.base: int | None = None
        #: sequence number of the first segment seen (tshark's base_seq)
        self.first_seq: int | None = None
        #: offset of the next byte expected in order
        self.next_off = 0
        #: out-of-order segments: offset -> (data, frame, time_ns, missing_tail)
        self.pending: dict[int, tuple[bytes, int, int, int]] = {}
        self.pending_bytes = 0
        #: recent delivered bytes, (offset, data, frame), to compare retransmissions with
        self.history: deque[tuple[int, bytes, int]] = EMPTY_HISTORY
        self.history_bytes = 0
        #: capture time of the last bytes put in ``history`` (old history is dropped)
        self.history_time = 0
        self.fin_off: int | None = None
        self.skip_until = 0
        self.stopped = False
        self.packets = 0
        #: payload bytes on the wire, retransmissions included
        self.bytes = 0
        self.gap_bytes = 0
        self.syn_frames: list[int] = []
        self.fin_frames: list[int] = []
        self.rst_frames: list[int] = []

    def release(self) -> None:
        """Drop buffers once the connection is over."""
        self.pending = {}
        self.pending_bytes = 0
        self.history = _RELEASED
        self.history_bytes = 0


class Connection:
    """One TCP connection, numbered from 1 in order of its first frame (tshark tcp.stream + 1)."""

    __slots__ = (
        "client_by", "client_index", "dirs", "ended", "endpoints", "first_frame",
        "first_time_ns", "id", "last_frame", "last_time_ns", "synack_index",
    )

    def __init__(
        self, conn_id: int, src: tuple[str, int], dst: tuple[str, int], frame: int, time_ns: int
    ) -> None:
        self.id = conn_id
        #: index 0 sent the first frame seen
        self.endpoints = (src, dst)
        self.dirs = (Direction(), Direction())
        self.first_frame = self.last_frame = frame
        self.first_time_ns = self.last_time_ns = time_ns
        # Port heuristic until a SYN, SYN-ACK or the consumer says otherwise.
        self.client_index = 1 if src[1] < dst[1] else 0
        self.client_by: ClientBy = "port"
        self.synack_index: int | None = None
        self.ended = False

    def __repr__(self) -> str:
        c, s = self.client_endpoint, self.server_endpoint
        return f"<Connection {self.id} {c[0]}:{c[1]} -> {s[0]}:{s[1]} {self.outcome}>"

    # -- naming the sides ---------------------------------------------------------------
    def side_of(self, index: int) -> Side:
        """The name of direction ``index`` (0 = sender of the first frame)."""
        return "client" if index == self.client_index else "server"

    def index_of(self, side: Side) -> int:
        """The direction index of ``side``."""
        return self.client_index if side == "client" else 1 - self.client_index

    def set_client(self, side: Side) -> bool:
        """Say that ``side`` (as named now) is really the client; True if the names swapped.

        Ignored when a SYN or SYN-ACK already showed who the client is. Events made
        after a swap use the new names.
        """
        if self.client_by in ("syn", "synack"):
            return False
        self.client_by = "consumer"
        if side == "client":
            return False
        self.client_index = 1 - self.client_index
        return True

    @property
    def client_endpoint(self) -> tuple[str, int]:
        return self.endpoints[self.client_index]

    @property
    def server_endpoint(self) -> tuple[str, int]:
        return self.endpoints[1 - self.client_index]

    @property
    def client(self) -> str:
        return self.endpoints[self.client_index][0]

    @property
    def client_port(self) -> int:
        return self.endpoints[self.client_index][1]

    @property
    def server(self) -> str:
        return self.endpoints[1 - self.client_index][0]

    @property
    def server_port(self) -> int:
        return self.endpoints[1 - self.client_index][1]

    # -- per side counters and evidence -------------------------------------------------
    def packets(self, side: Side) -> int:
        """TCP segments sent by ``side``."""
        return self.dirs[self.index_of(side)].packets

    def payload_bytes(self, side: Side) -> int:
        """Payload bytes sent by ``side`` (retransmissions included, snapped bytes included)."""
        return self.dirs[self.index_of(side)].bytes

    def gap_bytes(self, side: Side) -> int:
        """Stream bytes of ``side`` missing from the capture."""
        return self.dirs[self.index_of(side)].gap_bytes

    @property
    def syn_frames(self) -> list[int]:
        """Frames of the client's SYNs (retransmissions included)."""
        return self.dirs[self.client_index].syn_frames

    @property
    def synack_frames(self) -> list[int]:
        """Frames of the server's SYN-ACKs."""
        return self.dirs[1 - self.client_index].syn_frames if self.synack_index is not None \
            else []

    def fin_frames(self, side: Side) -> list[int]:
        """Frames of the FINs ``side`` sent (retransmissions included)."""
        return self.dirs[self.index_of(side)].fin_frames

    def rst_frames(self, side: Side) -> list[int]:
        """Frames of the RSTs ``side`` sent."""
        return self.dirs[self.index_of(side)].rst_frames

    @property
    def rst_frame(self) -> int | None:
        """The first RST of the connection, from either side."""
        frames = self.dirs[0].rst_frames[:1] + self.dirs[1].rst_frames[:1]
        return min(frames) if frames else None

    @property
    def rst_side(self) -> Side | None:
        f = self.rst_frame
        if f is None:
            return None
        return self.side_of(0 if f in self.dirs[0].rst_frames else 1)

    @property
    def midstream(self) -> bool:
        """Neither SYN nor SYN-ACK was captured: the capture started inside the connection."""
        return not self.dirs[0].syn_frames and not self.dirs[1].syn_frames

    @property
    def outcome(self) -> Outcome:
        """What TCP alone says; the TLS layer refines it.

        ``refused``: SYN answered by RST; ``no_answer``: SYN(s), nothing back;
        ``reset``: a RST; ``closed``: a FIN; ``midstream``: no SYN/SYN-ACK; else ``open``.
        """
        client = self.dirs[self.client_index]
        server = self.dirs[1 - self.client_index]
        if client.syn_frames and self.synack_index is None:
            if server.rst_frames:
                return "refused"
            if server.packets == 0:
                return "no_answer"
        if client.rst_frames or server.rst_frames:
            return "reset"
        if client.fin_frames or server.fin_frames:
            return "closed"
        if self.midstream:
            return "midstream"
        return "open"
