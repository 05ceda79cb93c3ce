"""Test-only: TLS records out of a capture, without the project's TCP/TLS layers.

Reassembles each TCP direction in sequence order with scapy, splits TLS records,
and reads the randoms, version, suite and encrypt_then_mac off the plaintext
hellos, so decryption can be tested before (and independently of) the real parser.
Good enough for clean loopback captures; not a reassembler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.utils import PcapReader

from pcaptls.tls.keys import KeyProvider, RecordDecryptor, Sender, SessionKeys


@dataclass(frozen=True)
class Record:
    sender: Sender
    frame: int
    content_type: int
    version: int
    fragment: bytes


@dataclass
class Connection:
    client: tuple[str, int]
    server: tuple[str, int]
    records: list[Record] = field(default_factory=list)
    client_random: bytes = b""
    server_random: bytes = b""
    version: int = 0
    cipher_suite: int = 0
    encrypt_then_mac: bool = False


Endpoint = tuple[str, int]


def _segments(path: Path) -> tuple[dict[tuple[Endpoint, Endpoint], list[tuple[int, int, bytes]]],
                                    list[tuple[Endpoint, Endpoint]]]:
    flows: dict[tuple[Endpoint, Endpoint], list[tuple[int, int, bytes]]] = {}
    order: list[tuple[Endpoint, Endpoint]] = []
    with PcapReader(str(path)) as reader:
        for number, packet in enumerate(reader, start=1):
            if getattr(reader, "linktype", None) == 0:  # DLT_NULL (BSD loopback): 4-byte family, then IP
                raw = bytes(packet)[4:]
                packet = IP(raw) if raw[:1] and raw[0] >> 4 == 4 else IPv6(raw)
            ip = packet.getlayer(IP) or packet.getlayer(IPv6)
            tcp = packet.getlayer(TCP)
            if ip is None or tcp is None:
                continue
            key = ((str(ip.src), int(tcp.sport)), (str(ip.dst), int(tcp.dport)))
            if key not in flows:
                flows[key] = []
                order.append(key)
            payload = bytes(tcp.payload)
            if "S" in str(tcp.flags):
                flows[key].append((int(tcp.seq) + 1, number, b""))
            elif payload:
                flows[key].append((int(tcp.seq), number, payload))
    return flows, order


def _stream(segments: list[tuple[int, int, bytes]]) -> tuple[bytes, list[tuple[int, int]]]:
    """In-order bytes and (end offset, frame) marks; retransmitted bytes dropped."""
    if not segments:
        return b"", []
    base = segments[0][0]
    data = bytearray()
    marks: list[tuple[int, int]] = []
    for seq, frame, payload in sorted(segments, key=lambda s: ((s[0] - base) % 2**32, s[1])):
        offset = (seq - base) % 2**32
        if offset + len(payload) <= len(data):
            continue
        data += payload[len(data) - offset :] if offset <= len(data) else b""
        marks.append((len(data), frame))
    return bytes(data), marks


def _records(sender: Sender, data: bytes, marks: list[tuple[int, int]]) -> list[Record]:
    out: list[Record] = []
    pos = 0
    while pos + 5 <= len(data):
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        end = pos + 5 + length
        if end > len(data):
            break
        frame = next(f for e, f in marks if e >= end)
        out.append(Record(sender, frame, data[pos], int.from_bytes(data[pos + 1 : pos + 3], "big"),
                          data[pos + 5 : end]))
        pos = end
    return out


def connections(path: Path) -> list[Connection]:
    """Every TCP connection whose first client bytes are a TLS handshake record."""
    flows, order = _segments(path)
    result: list[Connection] = []
    seen: set[tuple[Endpoint, Endpoint]] = set()
    for key in order:
        if key in seen:
            continue
        reverse = (key[1], key[0])
        seen.update({key, reverse})
        for client, server in (key, reverse):
            data, marks = _stream(flows.get((client, server), []))
            if data[:1] == b"\x16" and data[5:6] == b"\x01":
                break
        else:
            continue
        conn = Connection(client, server)
        client_records = _records("client", data, marks)
        server_data, server_marks = _stream(flows.get((server, client), []))
        server_records = _records("server", server_data, server_marks)
        conn.records = sorted(client_records + server_records, key=lambda r: r.frame)
        _read_hellos(conn, client_records, server_records)
        result.append(conn)
    return result


def _read_hellos(conn: Connection, client: list[Record], server: list[Record]) -> None:
    hello = client[0].fragment
    conn.client_random = hello[6:38]
    shello = server[0].fragment
    assert shello[0] == 2, "first server record is not a ServerHello"
    conn.version = int.from_bytes(shello[4:6], "big")
    conn.server_random = shello[6:38]
    sid_len = shello[38]
    pos = 39 + sid_len
    conn.cipher_suite = int.from_bytes(shello[pos : pos + 2], "big")
    pos += 3
    end = 4 + int.from_bytes(shello[1:4], "big")
    if pos + 2 <= end:
        pos += 2
        while pos + 4 <= end:
            ext = int.from_bytes(shello[pos : pos + 2], "big")
            length = int.from_bytes(shello[pos + 2 : pos + 4], "big")
            body = shello[pos + 4 : pos + 4 + length]
            if ext == 43:  # supported_versions
                conn.version = int.from_bytes(body, "big")
            elif ext == 22:  # encrypt_then_mac
                conn.encrypt_then_mac = True
            pos += 4 + length


@dataclass(frozen=True)
class Plain:
    sender: Sender
    frame: int
    content_type: int
    data: bytes


def decrypt_connection(conn: Connection, keys: KeyProvider) -> tuple[list[Plain], int]:
    """Run the records through the key provider, switching epochs as the protocol does.

    Returns the decrypted records and the number of records that failed to decrypt.
    """
    session = keys.session(conn.client_random, conn.server_random, conn.version,
                           conn.cipher_suite, encrypt_then_mac=conn.encrypt_then_mac)
    assert session is not None
    tls13 = conn.version == 0x0304
    out: list[Plain] = []
    failures = 0
    state: dict[Sender, RecordDecryptor | None] = {"client": None, "server": None}
    generation: dict[Sender, int] = {"client": 0, "server": 0}
    epoch: dict[Sender, str] = {"client": "plain", "server": "plain"}
    if tls13 and session.decryptor("client", "early") is not None:
        state["client"] = session.decryptor("client", "early")  # 0-RTT data
        epoch["client"] = "early"
    for record in conn.records:
        side = record.sender
        if tls13 and epoch[side] == "plain" and (side == "server" and record.content_type == 22
                                                 and record.fragment[0] == 2):
            out.append(Plain(side, record.frame, 22, record.fragment))
            epoch["server"] = "handshake"
            state["server"] = session.decryptor("server", "handshake")
            if epoch["client"] != "early":  # else: until EndOfEarlyData
                epoch["client"] = "handshake"
                state["client"] = session.decryptor("client", "handshake")
            continue
        if not tls13 and record.content_type == 20:
            state[side] = session.decryptor(side, "application")
            epoch[side] = "application"
            out.append(Plain(side, record.frame, 20, record.fragment))
            continue
        decryptor = state[side]
        if decryptor is None or (tls13 and record.content_type != 23):
            out.append(Plain(side, record.frame, record.content_type, record.fragment))
            continue
        result = decryptor.decrypt(record.content_type, record.version, record.fragment)
        if result is None and epoch[side] == "early" and epoch["server"] != "plain":
            epoch[side] = "handshake"  # 0-RTT rejected: the client moved on
            state[side] = decryptor = session.decryptor(side, "handshake")
            if decryptor is not None:
                result = decryptor.decrypt(record.content_type, record.version, record.fragment)
        if result is None:
            failures += 1
            continue
        inner_type, data = result
        out.append(Plain(side, record.frame, inner_type, data))
        if tls13 and inner_type == 22:
            _tls13_transitions(session, side, data, state, epoch, generation)
    return out, failures


def _tls13_transitions(session: SessionKeys, side: Sender, data: bytes,
                       state: dict[Sender, RecordDecryptor | None], epoch: dict[Sender, str],
                       generation: dict[Sender, int]) -> None:
    pos = 0
    while pos + 4 <= len(data):
        msg_type = data[pos]
        pos += 4 + int.from_bytes(data[pos + 1 : pos + 4], "big")
        if msg_type == 5 and epoch[side] == "early":  # EndOfEarlyData
            epoch[side] = "handshake"
            state[side] = session.decryptor(side, "handshake")
        elif msg_type == 20 and epoch[side] == "handshake":  # Finished
            epoch[side] = "application"
            state[side] = session.decryptor(side, "application")
        elif msg_type == 24:  # KeyUpdate
            generation[side] += 1
            state[side] = session.decryptor(side, "application", generation[side])


def handshake_types(plain: list[Plain], sender: Sender) -> list[int]:
    """Handshake message types in the decrypted (and plaintext) handshake records."""
    types: list[int] = []
    buffer = b"".join(p.data for p in plain if p.sender == sender and p.content_type == 22)
    pos = 0
    while pos + 4 <= len(buffer):
        types.append(buffer[pos])
        pos += 4 + int.from_bytes(buffer[pos + 1 : pos + 4], "big")
    return types


def application_data(plain: list[Plain], sender: Sender) -> bytes:
    return b"".join(p.data for p in plain if p.sender == sender and p.content_type == 23)


def pcapng_decryption_secrets(data: bytes) -> list[bytes]:
    """The TLS key logs in a pcapng file's Decryption Secrets Blocks (type 0x0A, TLSK).

    Test-only stand-in for the capture reader, which hands these bytes to the KeyLog.
    """
    secrets: list[bytes] = []
    order = "little" if data[8:12] == bytes.fromhex("4d3c2b1a") else "big"
    pos = 0
    while pos + 12 <= len(data):
        block_type = int.from_bytes(data[pos : pos + 4], order)
        length = int.from_bytes(data[pos + 4 : pos + 8], order)
        if block_type == 0x0000000A:
            secrets_type = int.from_bytes(data[pos + 8 : pos + 12], order)
            secrets_length = int.from_bytes(data[pos + 12 : pos + 16], order)
            if secrets_type == 0x544C534B:
                secrets.append(data[pos + 16 : pos + 16 + secrets_length])
        pos += length
    return secrets


def tshark_follow_tls(path: Path, keylog: Path | None, streams: int) -> dict[int, dict[str, bytes]]:
    """tshark's decrypted application data per TCP stream, keyed by "ip:port" of the sender."""
    import re
    import subprocess

    args = ["tshark", "-r", str(path), "-q", "-o", "tcp.reassemble_out_of_order:TRUE"]
    if keylog is not None:
        args += ["-o", f"tls.keylog_file:{keylog}"]
    for stream in range(streams):
        args += ["-z", f"follow,tls,raw,{stream}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    result: dict[int, dict[str, bytes]] = {}
    for block in out.split("Follow: tls,raw")[1:]:
        stream = int(re.search(r"Filter: tcp.stream eq (\d+)", block).group(1))  # type: ignore[union-attr]
        node0 = re.search(r"Node 0: (.*)", block).group(1).strip()  # type: ignore[union-attr]
        data: dict[str, bytearray] = {node0: bytearray(), "other": bytearray()}
        for line in block.splitlines():
            if re.fullmatch(r"\t?[0-9a-f]+", line):
                key = "other" if line.startswith("\t") else node0
                data[key] += bytes.fromhex(line.strip())
        result[stream] = {k: bytes(v) for k, v in data.items()}
    return result
