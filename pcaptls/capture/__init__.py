"""Capture files in, frames and decoded TCP/UDP packets out.

``open_capture`` reads pcap/pcapng (compressed or not, from a file or standard
input); :class:`Decoder` turns frames into :class:`TcpSegment` and
:class:`UdpDatagram` tuples through the link, IP and tunnel layers.
"""

from .frame import Frame, Interface, ReaderStats
from .reader import CaptureReader, open_capture

__all__ = ["CaptureReader", "Frame", "Interface", "ReaderStats", "open_capture"]
