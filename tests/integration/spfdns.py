"""spfdns.py - a small authoritative DNS responder on loopback serving the
zone data of one scenario of the RFC 7208 test suite
(tests/data/spf/rfc7208-tests.yml), for test_spf_suite.py.

NSD (dnsserver.py) cannot express all of the suite's data: a name marked
TIMEOUT must get no answer at all, records live under many unrelated
zones (example.com, example.net, in-addr.arpa, ip6.arpa), some TXT data
is not 7-bit, and an SPF (type 99) record is copied to TXT unless the
name has TXT data of its own or "TXT: NONE", the convention of the
suite's drivers.  This answers UDP and TCP queries from a thread:

    with SpfDns(zonedata) as dns:
        dns.resolver        # "127.0.0.1@PORT"

Answers follow the suite's meaning: a name not in the data and with no
name below it is NXDOMAIN; a name with no record of the type asked is
an empty NOERROR answer, or no answer when the name has TIMEOUT; CNAMEs
inside the data are followed, as a recursive server would.
"""

import ipaddress
import socket
import socketserver
import struct
import threading

TYPES = {"A": 1, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "SPF": 99}


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            raw = label.encode("latin-1")
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def txt_rdata(value):
    strings = value if isinstance(value, list) else [value]
    if not strings:
        strings = [""]
    out = b""
    for s in strings:
        raw = s.encode("latin-1") if isinstance(s, str) else bytes(s)
        while True:
            out += bytes([min(len(raw), 255)]) + raw[:255]
            raw = raw[255:]
            if not raw:
                break
    return out


def rdata(rtype, value):
    if rtype == "A":
        return ipaddress.IPv4Address(value).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(value).packed
    if rtype == "MX":
        return struct.pack("!H", int(value[0])) + wire_name(str(value[1]))
    if rtype in ("PTR", "CNAME"):
        return wire_name(str(value))
    return txt_rdata(value)


class Zone:
    """The suite's zonedata for one scenario, normalised."""

    def __init__(self, zonedata):
        self.names = {}
        for name, records in (zonedata or {}).items():
            entry = {"timeout": False, "rr": []}
            has_txt = False
            spf = []
            for rec in records:
                if rec == "TIMEOUT":
                    entry["timeout"] = True
                    continue
                (rtype, value), = rec.items()
                if rtype == "TXT":
                    has_txt = True
                    if value == "NONE":
                        continue
                if rtype == "SPF":
                    if value == "NONE":
                        continue
                    spf.append(value)
                entry["rr"].append((rtype, value))
            if not has_txt:
                entry["rr"] += [("TXT", v) for v in spf]
            self.names[name.lower().rstrip(".")] = entry

    def exists(self, name):
        if name in self.names:
            return True
        return any(n.endswith("." + name) for n in self.names)

    def answer(self, qname, qtype):
        """(rcode, [(owner, type, rdata)]) or None for no answer."""
        out = []
        name = qname.lower().rstrip(".")
        for _ in range(10):
            entry = self.names.get(name)
            if entry is None:
                if out or self.exists(name):
                    return 0, out
                return 3, out
            recs = [(t, v) for t, v in entry["rr"] if TYPES[t] == qtype]
            if recs:
                return 0, out + [(name, t, rdata(t, v)) for t, v in recs]
            cname = [v for t, v in entry["rr"] if t == "CNAME"]
            if cname and qtype != TYPES["CNAME"]:
                out.append((name, "CNAME", rdata("CNAME", cname[0])))
                name = str(cname[0]).lower().rstrip(".")
                continue
            if entry["timeout"]:
                return None
            return 0, out
        return 2, []


def parse_query(pkt):
    qid, flags, qd = struct.unpack("!HHH", pkt[:6])
    pos, labels = 12, []
    while pkt[pos]:
        n = pkt[pos]
        labels.append(pkt[pos + 1:pos + 1 + n].decode("latin-1"))
        pos += 1 + n
    pos += 1
    qtype, qclass = struct.unpack("!HH", pkt[pos:pos + 4])
    return qid, flags, ".".join(labels), qtype, pkt[12:pos + 4]


def respond(zone, pkt, limit):
    try:
        qid, flags, qname, qtype, question = parse_query(pkt)
    except (IndexError, struct.error):
        return None
    ans = zone.answer(qname, qtype)
    if ans is None:
        return None
    rcode, rrs = ans
    body = b""
    for owner, rtype, data in rrs:
        body += wire_name(owner) + struct.pack("!HHIH", TYPES[rtype], 1,
                                               300, len(data)) + data
    head_flags = 0x8400 | (flags & 0x0100) | 0x0080 | rcode
    n = len(rrs)
    if limit and 12 + len(question) + len(body) > limit:
        head_flags |= 0x0200
        body, n = b"", 0
    head = struct.pack("!HHHHHH", qid, head_flags, 1, n, 0, 0)
    return head + question + body


class SpfDns:
    def __init__(self, zonedata):
        self.zone = Zone(zonedata)

    @property
    def resolver(self):
        return "127.0.0.1@%d" % self.port

    def __enter__(self):
        zone = self.zone

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                pkt, sock = self.request
                out = respond(zone, pkt, 4096)
                if out is not None:
                    sock.sendto(out, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self):
                raw = self.request.recv(2)
                if len(raw) < 2:
                    return
                n, = struct.unpack("!H", raw)
                pkt = b""
                while len(pkt) < n:
                    more = self.request.recv(n - len(pkt))
                    if not more:
                        return
                    pkt += more
                out = respond(zone, pkt, 0)
                if out is not None:
                    self.request.sendall(struct.pack("!H", len(out)) + out)

        for _ in range(50):
            self.udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0),
                                                       Udp)
            self.port = self.udp.server_address[1]
            try:
                self.tcp = socketserver.ThreadingTCPServer(
                    ("127.0.0.1", self.port), Tcp)
                break
            except OSError:
                # the same port is taken for TCP: try another
                self.udp.server_close()
        else:
            raise RuntimeError("no loopback port free for UDP and TCP")
        for srv in (self.udp, self.tcp):
            srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        for srv in (self.udp, self.tcp):
            srv.shutdown()
            srv.server_close()
