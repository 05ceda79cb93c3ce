"""SRTP keys never survive parsing, whatever shape carries them (RFC 4568, RFC 4567)."""

from __future__ import annotations

import base64

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pcaptls.sip import SipStream, parse_datagram, parse_sdp, redact, sip_facts, sip_row

# RFC 4568 §9.2 example key-params (published, not secret).
K1 = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
K2 = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"


def test_rfc4568_shapes_keep_lifetime_and_mki() -> None:
    # Grammar (RFC 4568 §9.2): "inline:" key-salt ["|" lifetime] ["|" mki-value ":" mki-length]
    cases = {
        f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{K1}|2^20|1:32": "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>|2^20|1:32",
        f"a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:{K1}": "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:<redacted>",
        f"a=crypto:2 F8_128_HMAC_SHA1_80 inline:{K1}|2^20|1:4;inline:{K2}|2^20|2:4 FEC_ORDER=FEC_SRTP": "a=crypto:2 F8_128_HMAC_SHA1_80 inline:<redacted>|2^20|1:4;inline:<redacted>|2^20|2:4"
        " FEC_ORDER=FEC_SRTP",
        f"a=crypto:3 AES_256_CM_HMAC_SHA1_80 INLINE:{K1}|1:4": (
            "a=crypto:3 AES_256_CM_HMAC_SHA1_80 INLINE:<redacted>|1:4"
        ),
        f"a=key-mgmt:mikey {K1}{K2}": "a=key-mgmt:mikey <redacted>",
        f"k=base64:{K1}": "k=<redacted>",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:": "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>",
        "no keys here": "no keys here",
    }
    for text, want in cases.items():
        assert redact(text) == want
        assert redact(redact(text)) == want  # idempotent


def test_sdp_keeps_counts_not_keys() -> None:
    sdp = parse_sdp(
        f"v=0\r\nm=audio 4000 RTP/SAVP 0\r\n"
        f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{K1}|2^20|1:4;inline:{K2}|2^20|2:4\r\n"
    )
    (c,) = sdp.media[0].crypto
    assert (c.tag, c.suite, c.key_count) == (1, "AES_CM_128_HMAC_SHA1_80", 2)
    assert sdp.has_sdes_keys and K1 not in repr(sdp) and K2 not in repr(sdp)
    assert not parse_sdp("v=0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 X inline:\r\n").has_sdes_keys


KEYS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    min_size=12,
    max_size=60,
)


def shapes(key: str) -> list[bytes]:
    """The same key in every place a message can carry text."""
    sdp = (
        f"v=0\r\no=- 1 1 IN IP4 10.62.0.1\r\ns=-\r\nc=IN IP4 10.62.0.1\r\nt=0 0\r\n"
        f"m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^31\r\n"
        f"m=video 4002 RTP/SAVP 96\r\na=crypto:7 AES_256_CM_HMAC_SHA1_80 inline:{key}\r\n"
    )
    multipart = f"--b1\r\nContent-Type: application/sdp\r\n\r\n{sdp}--b1--\r\n"
    out = []
    for ctype, body in (
        ("application/sdp", sdp),
        ("multipart/mixed;boundary=b1", multipart),
        ("text/plain", f"inline:{key}"),
    ):
        out.append(
            (
                f"INVITE sip:bob@example.com;x=inline:{key} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 10.62.0.1;branch=z9hG4bK1;k=inline:{key}\r\n"
                f"From: <sip:alice@example.com>;tag=inline:{key}\r\n"
                f"To: <sip:bob@example.com>\r\nCall-ID: inline:{key}\r\nCSeq: 1 INVITE\r\n"
                f"X-Crypto: a=crypto:1 AES_CM_128_HMAC_SHA1_80\r\n  inline:{key}\r\n"
                f"Subject: inline:{key}\r\nUser-Agent: inline:{key}\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n{body}"
            ).encode()
        )
    return out


@settings(max_examples=60, deadline=None)
@given(KEYS)
def test_keys_never_survive_in_any_field(key: str) -> None:
    assume(all(key not in text.decode() for text in shapes("")))  # a key, not message text
    for data in shapes(key):
        m = parse_datagram(data, 1, 0)
        assert m is not None
        stream = SipStream()
        (s,) = stream.feed(data, 1, 0)
        for msg in (m, s):
            for text in (repr(msg), repr(sip_row(msg)), repr(sip_facts(msg, over_tls=False))):
                assert key not in text
            if b"multipart" in data or b"application/sdp" in data:
                assert msg.sdp is not None
                assert [c.key_count for x in msg.sdp.media for c in x.crypto] == [1, 1]
            assert msg.has_sdes_keys == (
                "a=crypto" in data.decode().split("\r\n\r\n", 1)[1] or "text/plain" in data.decode()
            )


def test_captured_keys_decode_as_tshark_shows_them() -> None:
    """Sanity of the capture test's secret reconstruction: K1 is base64 of key||salt."""
    raw = base64.b64decode(K1)
    assert len(raw) == 30 and base64.b64encode(raw).decode() == K1


def test_digest_response_is_redacted_but_not_the_rest() -> None:
    """RFC 3261 §22.4 / RFC 8760: the digest response lets anyone guess the password offline."""
    m = parse_datagram(
        b"REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.62.0.1;branch=z9hG4bK9\r\n"
        b'Authorization: Digest username="alice", realm="example.com", nonce="abc", '
        b'uri="sip:example.com", response="6629fae49393a05397450978507c4ef1", algorithm=MD5\r\n'
        b"Call-ID: d1\r\nCSeq: 2 REGISTER\r\nContent-Length: 0\r\n\r\n",
        1,
        0,
    )
    assert m is not None
    (auth,) = [v for n, v in m.headers if n == "Authorization"]
    assert "6629fae49393a05397450978507c4ef1" not in repr(m)
    assert 'response="<redacted>"' in auth and 'username="alice"' in auth
