"""Capture files in, frames and decoded TCP/UDP packets out.

``open_capture`` reads pcap/pcapng (compressed or not, from a file or standard
input); :class:`Decoder` turns frames into :class:`TcpSegment` and
:class:`UdpDatagram` tuples through the link, IP and tunnel layers.
"""

from .decode import Decoder, LinkType, TcpSegment, UdpDatagram
from .frame import Frame, Interface, ReaderStats
from .reader import CaptureReader, open_capture

__all__ = [
    "CaptureReader", "Decoder", "Frame", "Interface", "LinkType", "ReaderStats", "TcpSegment",
    "UdpDatagram", "open_capture",
]
