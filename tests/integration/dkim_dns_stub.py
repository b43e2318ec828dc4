"""dkim_dns_stub.py - run one program against a private DNS server that
answers TXT queries from a table, for OpenDKIM's opendkim-testmsg, which
looks keys up in DNS only.

    dkim_dns_stub.py ZONE MESSAGE PROGRAM [ARGS...]

ZONE has lines "NAME RECORD"; any other name is NXDOMAIN.  The server
listens on 127.0.0.1:53 (UDP), so this is meant to run inside a fresh
network and mount namespace (test_dkim_interop.py starts it under
`unshare --net --mount`, with loopback up and /etc/resolv.conf bound to a
file naming 127.0.0.1): nothing leaves the machine, nothing outside the
namespace sees the server.  PROGRAM runs with MESSAGE on its standard
input; its output and exit status become ours.
"""

import socket
import subprocess
import sys
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


def load_zone(path):
    zone = {}
    with open(path) as f:
        for line in f:
            name, _, rec = line.rstrip("\n").partition(" ")
            zone[name.lower().rstrip(".") + "."] = rec
    return zone


def answer(zone, wire):
    q = dns.message.from_wire(wire)
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA
    question = q.question[0]
    rec = zone.get(question.name.to_text().lower())
    if rec is None or question.rdtype != dns.rdatatype.TXT:
        r.set_rcode(dns.rcode.NXDOMAIN if rec is None else dns.rcode.NOERROR)
        return r.to_wire()
    chunks = " ".join('"%s"' % rec[i:i + 255] for i in range(0, len(rec), 255))
    r.answer.append(dns.rrset.from_text(question.name, 60, dns.rdataclass.IN,
                                        dns.rdatatype.TXT, chunks))
    return r.to_wire()


def serve(sock, zone):
    while True:
        wire, peer = sock.recvfrom(4096)
        try:
            sock.sendto(answer(zone, wire), peer)
        except Exception:  # a query we cannot parse gets no answer
            pass


def main():
    zone = load_zone(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 53))
    threading.Thread(target=serve, args=(sock, zone), daemon=True).start()
    with open(sys.argv[2], "rb") as msg:
        p = subprocess.run(sys.argv[3:], stdin=msg, capture_output=True,
                           timeout=60)
    sys.stdout.buffer.write(p.stdout)
    sys.stderr.buffer.write(p.stderr)
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
