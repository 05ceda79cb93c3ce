"""Test-only: build TLS bytes by hand (RFC 8446/5246 layouts) for synthetic connections."""

from __future__ import annotations


def u8(v: int) -> bytes:
    return v.to_bytes(1, "big")


def u16(v: int) -> bytes:
    return v.to_bytes(2, "big")


def u24(v: int) -> bytes:
    return v.to_bytes(3, "big")


def vec(n: int, data: bytes) -> bytes:
    return len(data).to_bytes(n, "big") + data


def record(ctype: int, body: bytes, version: int = 0x0303) -> bytes:
    return u8(ctype) + u16(version) + vec(2, body)


def handshake(msg_type: int, body: bytes) -> bytes:
    return u8(msg_type) + vec(3, body)


def ext(ext_type: int, body: bytes) -> bytes:
    return u16(ext_type) + vec(2, body)


def client_hello(
    suites: list[int], exts: list[bytes], *, random: bytes = b"\x11" * 32,
    session_id: bytes = b"", version: int = 0x0303,
) -> bytes:
    body = (u16(version) + random + vec(1, session_id) + vec(2, b"".join(u16(s) for s in suites))
            + vec(1, b"\x00") + vec(2, b"".join(exts)))
    return handshake(1, body)


def server_hello(
    suite: int, exts: list[bytes], *, random: bytes = b"\x22" * 32, session_id: bytes = b"",
    version: int = 0x0303,
) -> bytes:
    body = u16(version) + random + vec(1, session_id) + u16(suite) + b"\x00" + vec(2, b"".join(exts))
    return handshake(2, body)


def sni(name: str) -> bytes:
    return ext(0, vec(2, b"\x00" + vec(2, name.encode())))


def supported_versions_client(*versions: int) -> bytes:
    return ext(43, vec(1, b"".join(u16(v) for v in versions)))


def supported_versions_server(version: int) -> bytes:
    return ext(43, u16(version))


def key_share_client(group: int) -> bytes:
    return ext(51, vec(2, u16(group) + vec(2, b"\x01" * 32)))


def key_share_server(group: int) -> bytes:
    return ext(51, u16(group) + vec(2, b"\x02" * 32))


def alpn(*protocols: str) -> bytes:
    return ext(16, vec(2, b"".join(vec(1, p.encode()) for p in protocols)))


def certificate12(*ders: bytes) -> bytes:
    return handshake(11, vec(3, b"".join(vec(3, d) for d in ders)))


def certificate13(*ders: bytes) -> bytes:
    return handshake(11, vec(1, b"") + vec(3, b"".join(vec(3, d) + vec(2, b"") for d in ders)))
