"""Hand-written messages in the shapes RFC 3261 allows (compact forms, folding, Via lists,
IPv6, addr-spec without brackets) parsed by us and by tshark from the same datagrams."""

from __future__ import annotations

from pathlib import Path

import tshark
from hypothesis import given, settings
from hypothesis import strategies as st
from sip_capture import FIELDS, by_frame, our_fields, write_udp_pcap

from pcaptls.sip import (
    SipMessage,
    parse_datagram,
    parse_message,
    parse_name_addr,
    parse_sdp,
    parse_uri,
    parse_via,
    split_list,
)

CRLF = "\r\n"


def msg(*lines: str, body: str = "") -> bytes:
    return (CRLF.join(lines) + CRLF + CRLF + body).encode()


COMPACT = msg(
    "INVITE sip:bob@biloxi.example.com SIP/2.0",
    "v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds ;received=192.0.2.1",
    "v: SIP/2.0/TCP [2001:db8::9:1]:5070;branch=z9hG4bKa1,SIP/2.0/TLS proxy.example.com:5061"
    ";branch=z9hG4bKa2;rport=5061",
    'f: "Alice" <sips:alice@atlanta.example.com>;tag=1928301774',
    "t: sip:bob@biloxi.example.com;tag=xyz",
    "i: a84b4c76e66710@pc33.atlanta.example.com",
    "CSeq: 314159 INVITE",
    'm: <sip:alice@pc33.atlanta.example.com;transport=udp>, "Second, contact" '
    "<sip:alice2@192.0.2.7:5080>",
    "k: 100rel",
    "c: application/sdp",
    "l: 50",
    body="v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 49170 RTP/AVP 0\r\n",
)
FOLDED = msg(
    "SIP/2.0 180 Ringing",
    "Via: SIP/2.0/UDP server10.biloxi.example.com:5062",
    "\t;branch=z9hG4bK4b43c2ff8.1",
    "From: Bob",
    " <sip:bob@biloxi.example.com>;tag=a6c85cf",
    "To: <sip:alice@atlanta.example.com>;tag=1928301774",
    "Call-ID: folded-1@example.com",
    "CSeq:    1 INVITE",
    "Subject: a subject that",
    "  goes on",
    "Content-Length: 0",
)
RECORD_ROUTE = msg(
    "BYE sips:alice@atlanta.example.com;transport=tcp SIP/2.0",
    "Via: SIP/2.0/TLS 10.62.0.1;branch=z9hG4bKnashds10",
    "Record-Route: <sip:p1.example.com;lr;transport=udp>, <sips:p2.example.com;lr>",
    "Record-Route: <sip:p3.example.com;lr>",
    "Route: <sips:p2.example.com;lr>",
    "From: <sip:bob@biloxi.example.com>;tag=a6c85cf",
    "To: <sip:alice@atlanta.example.com>;tag=1928301774",
    "Call-ID: rr-1@example.com",
    "CSeq: 2 BYE",
    "Content-Length: 0",
)
SHAPES = [COMPACT, FOLDED, RECORD_ROUTE]


def parsed() -> list[SipMessage]:
    out = []
    for frame, data in enumerate(SHAPES, start=1):
        m = parse_datagram(data, frame, 0)
        assert m is not None
        out.append(m)
    return out


def test_shapes_match_tshark(tmp_path: Path) -> None:
    pcap = tmp_path / "shapes.pcap"
    write_udp_pcap(pcap, SHAPES)
    rows = tshark.fields(str(pcap), *FIELDS, extra=("-Y", "sip"))
    mine = by_frame(parsed())
    assert len(rows) == len(SHAPES)
    for r in rows:
        assert our_fields(int(r[0]), mine[int(r[0])]) == r


def test_shapes_extra_fields_match_tshark(tmp_path: Path) -> None:
    pcap = tmp_path / "shapes.pcap"
    write_udp_pcap(pcap, SHAPES)
    names = (
        "sip.Via.received",
        "sip.Via.rport",
        "sip.Record-Route.uri",
        "sip.Route.uri",
        "sip.from.addr",
        "sip.to.addr",
        "sdp.media.proto",
        "sip.Content-Length",
    )
    rows = tshark.fields(str(pcap), "frame.number", *names, extra=("-Y", "sip"))
    for r, m in zip(rows, parsed(), strict=True):
        assert r[1] == ",".join(v.received for v in m.vias if v.received is not None)
        # tshark shows the rport parameter as written: a number, or "rport" without one
        assert r[2] == ",".join(v.rport or "rport" for v in m.vias if v.rport is not None)
        assert r[3] == ",".join(a.uri.text for a in m.record_route)
        assert r[4] == ",".join(a.uri.text for a in m.route)
        assert m.from_addr is not None and m.to_addr is not None
        assert r[5] == m.from_addr.uri.text and r[6] == m.to_addr.uri.text
        assert r[7] == ",".join(x.proto for x in (m.sdp.media if m.sdp else ()))
        assert r[8] == str(m.content_length)


def test_facts_on_shapes() -> None:
    compact, folded, rr = parsed()
    # RFC 3261 §7.3.3 compact forms: v, f, t, i, m, k, c, l.
    assert [v.transport for v in compact.vias] == ["UDP", "TCP", "TLS"]
    assert compact.vias[1].host == "2001:db8::9:1" and compact.vias[1].port == 5070
    assert [c.uri.text for c in compact.contacts] == [
        "sip:alice@pc33.atlanta.example.com;transport=udp",
        "sip:alice2@192.0.2.7:5080",
    ]
    assert compact.contacts[1].display_name == "Second, contact"
    assert compact.uses_sips  # the From URI is sips:
    assert compact.content_type == "application/sdp" and compact.sdp is not None
    assert [m.proto for m in compact.plain_rtp_media] == ["RTP/AVP"]
    assert ("Supported", "100rel") in compact.headers
    assert folded.method_or_status == "180 Ringing"
    assert ("Subject", "a subject that goes on") in folded.headers
    assert folded.from_addr is not None and folded.from_addr.display_name == "Bob"
    assert rr.uses_sips and rr.via_transport == "TLS"
    from pcaptls.sip import insecure_hops, sip_row

    hops = insecure_hops(rr)
    assert [(h.header, h.index, h.transport) for h in hops] == [("Record-Route", 0, "UDP")]
    assert sip_row(rr)["record_route"] == [
        "sip:p1.example.com;lr;transport=udp",
        "sips:p2.example.com;lr",
        "sip:p3.example.com;lr",
    ]
    udp_hops = insecure_hops(compact)
    assert [(h.header, h.transport) for h in udp_hops] == [
        ("Via", "UDP"),
        ("Via", "TCP"),
        ("Contact", "UDP"),
    ]


def test_datagram_edges() -> None:
    assert parse_datagram(b"\r\n\r\n", 1, 0) is None  # keep-alive
    assert parse_datagram(b"", 1, 0) is None
    assert parse_datagram(b"\x16\x03\x01\x00\x05hello", 1, 0) is None  # a TLS record
    # RFC 3261 §18.3: bytes past Content-Length in a datagram are ignored.
    m = parse_message(msg("OPTIONS sip:a@b SIP/2.0", "Content-Length: 2", body="okEXTRA"), 1, 0)
    assert m is not None and m.body == "ok"


def test_folding_anywhere_is_whitespace() -> None:
    """RFC 3261 §7.3.1: a folded header means the same as its one-line form (tshark 4.0
    keeps the line break inside a Via transport folded there, so this one is ours alone)."""
    one = parse_message(
        msg(
            "OPTIONS sip:a@b SIP/2.0",
            "Via: SIP/2.0/UDP h.example.com:5062;branch=z9hG4bK1",
            "CSeq: 7 OPTIONS",
            "l: 0",
        ),
        1,
        0,
    )
    folded = parse_message(
        msg(
            "OPTIONS sip:a@b SIP/2.0",
            "Via: SIP/2.0/UDP",
            "  h.example.com:5062",
            "\t;branch=z9hG4bK1",
            "CSeq: 7",
            "  OPTIONS",
            "l: 0",
        ),
        1,
        0,
    )
    assert one is not None and folded is not None
    assert folded.vias == one.vias and folded.cseq == one.cseq


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.text(max_size=200))
def test_arbitrary_input_never_raises(data: bytes, text: str) -> None:
    parse_datagram(data, 1, 0)
    parse_datagram(b"INVITE sip:a@b SIP/2.0\r\n" + data, 1, 0)
    parse_datagram(f"SIP/2.0 200 OK\r\nc: application/sdp\r\n\r\n{text}".encode(), 1, 0)
    parse_datagram(
        f"SIP/2.0 200 OK\r\nc: multipart/mixed;boundary={text[:5]}\r\n\r\n{text}".encode(), 1, 0
    )
    for f in (parse_via, parse_uri, parse_name_addr, parse_sdp, split_list):
        f(text)


# RFC 4475 §3.1.1.1 "wsinv": a valid INVITE with every legal oddity of whitespace, case
# and line folding. tshark 4.0 loses the first Via and the From/To tags of this one, so
# the expected values are the RFC's reading of the message, not tshark's.
WSINV_SDP = (
    "v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\n"
    "t=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n"
)
WSINV = "\r\n".join(
    [
        "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0",
        "TO :",
        " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
        'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>',
        "  ;",
        "  tag = 98asjd8",
        "MaX-fOrWaRdS: 0068",
        "Call-ID: wsinv.ndaksdj@192.0.2.1",
        f"Content-Length   : {len(WSINV_SDP)}",
        "cseq: 0009",
        "  INVITE",
        "Via  : SIP  /   2.0",
        " /UDP",
        "    192.0.2.2;branch=390skdjuw",
        "s :",
        "NewFangledHeader:   newfangled value",
        " continued newfangled value",
        "UnknownHeaderWithUnusualValue: ;;,,;;,;",
        "Content-Type: application/sdp",
        "Route:",
        " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>",
        "v:  SIP  / 2.0  / TCP     spindle.example.com   ;",
        "  branch  =   z9hG4bK9ikj8  ,",
        " SIP  /    2.0   / UDP  192.168.255.111   ; branch=",
        " z9hG4bK30239",
        'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =',
        "      newvalue ;",
        "  secondparam ; q = 0.33",
        "",
        WSINV_SDP,
    ]
).encode()


def test_rfc4475_wsinv() -> None:
    m = parse_datagram(WSINV, 1, 0)
    assert m is not None
    assert (m.method, m.request_uri) == ("INVITE", "sip:vivekg@chair-dnrc.example.com;unknownparam")
    assert [(v.transport, v.host, v.branch) for v in m.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert m.to_addr is not None and m.to_addr.tag == "1918181833n"
    assert m.from_addr is not None and m.from_addr.tag == "98asjd8"
    assert m.from_addr.display_name == 'J Rosenberg \\"'
    assert m.from_addr.uri.text == "sip:jdrosen@example.com"
    assert m.cseq is not None and (m.cseq.number, m.cseq.method) == (9, "INVITE")
    (contact,) = m.contacts
    assert contact.display_name == 'Quoted string ""'
    assert ("newparam", "newvalue") in contact.params and ("q", "0.33") in contact.params
    assert [r.uri.host for r in m.route] == ["services.example.com"]
    assert ("NewFangledHeader", "newfangled value continued newfangled value") in m.headers
    assert ("Subject", "") in m.headers  # "s" is Subject (RFC 3261 §7.3.3)
    assert m.headers[0] == ("To", "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n")
    assert m.sdp is not None and [x.port for x in m.sdp.media] == [49217, 3227]
    assert m.body == WSINV_SDP
