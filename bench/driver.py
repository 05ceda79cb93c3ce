"""Run one reading pipeline over a capture in this process, for :mod:`run` to time.

Each mode is what a row of the benchmark measures; the process prints one line
(``frames=N extra=...``) so the runner can check the work was really done.

    python bench/driver.py MODE FILE

Modes:
  pcaptls-reader   pcaptls.capture.open_capture, iterate frames
  pcaptls-decode   ... + Decoder.decode to TCP segments
  pcaptls-tcp      ... + TcpTracker.feed (connection tracking and reassembly)
  scapy-raw        scapy.utils.RawPcapReader, iterate records
  dpkt             dpkt.pcap.Reader, iterate records
  dpkt-decode      ... + dpkt.ethernet.Ethernet(...) down to TCP
"""

from __future__ import annotations

import sys
from collections.abc import Callable


def pcaptls_reader(path: str) -> str:
    from pcaptls.capture import open_capture

    n = size = 0
    with open_capture(path) as cap:
        for frame in cap:
            n += 1
            size += len(frame.data)
    return f"frames={n} bytes={size}"


def pcaptls_decode(path: str) -> str:
    from pcaptls.capture import open_capture
    from pcaptls.capture.decode import Decoder, TcpSegment

    n = tcp = 0
    dec = Decoder()
    with open_capture(path) as cap:
        for frame in cap:
            n += 1
            if type(dec.decode(frame)) is TcpSegment:
                tcp += 1
    return f"frames={n} tcp={tcp}"


def pcaptls_tcp(path: str) -> str:
    from pcaptls.capture import open_capture
    from pcaptls.capture.decode import Decoder, TcpSegment
    from pcaptls.tcp import Data, TcpTracker

    n = events = data = 0
    dec = Decoder()
    tracker = TcpTracker()
    with open_capture(path) as cap:
        for frame in cap:
            n += 1
            seg = dec.decode(frame)
            if type(seg) is TcpSegment:
                for ev in tracker.feed(seg):
                    events += 1
                    if type(ev) is Data:
                        data += len(ev.data)
    events += len(tracker.finish())
    return f"frames={n} events={events} stream_bytes={data}"


def scapy_raw(path: str) -> str:
    from scapy.utils import RawPcapReader

    n = size = 0
    for data, _meta in RawPcapReader(path):
        n += 1
        size += len(data)
    return f"frames={n} bytes={size}"


def dpkt_raw(path: str) -> str:
    import dpkt

    n = size = 0
    with open(path, "rb") as f:
        for _ts, buf in dpkt.pcap.Reader(f):
            n += 1
            size += len(buf)
    return f"frames={n} bytes={size}"


def dpkt_decode(path: str) -> str:
    import dpkt

    n = tcp = 0
    with open(path, "rb") as f:
        for _ts, buf in dpkt.pcap.Reader(f):
            n += 1
            eth = dpkt.ethernet.Ethernet(buf)
            if isinstance(eth.data, dpkt.ip.IP | dpkt.ip6.IP6) and isinstance(
                eth.data.data, dpkt.tcp.TCP
            ):
                tcp += 1
    return f"frames={n} tcp={tcp}"


MODES: dict[str, Callable[[str], str]] = {
    "pcaptls-reader": pcaptls_reader,
    "pcaptls-decode": pcaptls_decode,
    "pcaptls-tcp": pcaptls_tcp,
    "scapy-raw": scapy_raw,
    "dpkt": dpkt_raw,
    "dpkt-decode": dpkt_decode,
}


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in MODES:
        sys.exit(f"usage: driver.py {{{','.join(MODES)}}} FILE")
    print(MODES[sys.argv[1]](sys.argv[2]))


if __name__ == "__main__":
    main()
