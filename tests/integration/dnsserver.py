"""dnsserver.py - a private NSD (the Debian nsd package) on loopback for
tests, serving zones the test writes, optionally DNSSEC-signed with
ldns-keygen / ldns-signzone (Debian ldnsutils).

    from dnsserver import DnsServer
    zones = {"example.test": ["@ MX 10 mx1", "mx1 A 192.0.2.1",
                              'txt TXT "v=spf1 " "-all"']}
    with DnsServer(zones, signed=["example.test"],
                   tamper=[("bad.example.test", "TXT")]) as dns:
        dns.resolver       # "127.0.0.1@PORT", for [global] resolver
        dns.trust_anchor   # DS records of the signed zones, or None
        dns.query("mx1.example.test", "A")   # NSD's own raw answer

Each zone is a list of records in zone-file syntax, owners relative to
the zone; SOA, NS and the name server's address are added.  A zone in
`signed` gets one ECDSA P-256 key (flags 257, signing everything) and
NSEC; its DS goes into the trust anchor file.  Each (owner, type) in
`tamper` has a byte of its RRSIG's signature flipped after signing, so
a validating resolver finds it bogus.

`python3 dnsserver.py ZONES.json MESSAGE PROGRAM [ARGS...]` serves the
zones (a JSON object of the same form, unsigned) on 127.0.0.1:53 while
PROGRAM runs with MESSAGE on its standard input, for programs that only
read /etc/resolv.conf: it is meant for a fresh network and mount
namespace (test_dkim_interop.py runs OpenDKIM so, under `unshare --net
--mount` with loopback up and /etc/resolv.conf bound to a file naming
127.0.0.1), where nothing else sees the server.

Everything lives in one temporary directory: nsd.conf, zone files, keys,
pid, log, zone list and xfrd state; no database; no chroot; no privilege
drop (username ""), so it runs as root or as any user; NSD is started
with -c and -d and neither reads nor writes any file of its own under
/etc (only what libc and OpenSSL read there).  It is stopped by its
process group, which only it is in.  missing() says why it cannot run.
"""

import base64
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import harness

NSD = "/usr/sbin/nsd"
KEYGEN = "/usr/bin/ldns-keygen"
SIGNZONE = "/usr/bin/ldns-signzone"
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15,
         "TXT": 16, "AAAA": 28, "DS": 43, "RRSIG": 46, "DNSKEY": 48,
         "TLSA": 52}

NSD_CONF = """\
server:
	ip-address: 127.0.0.1@{port}
	port: {port}
	do-ip4: yes
	do-ip6: no
	reuseport: no
	server-count: 1
	username: ""
	chroot: ""
	zonesdir: "{dir}"
	database: ""
	zonelistfile: "{dir}/zone.list"
	xfrdfile: "{dir}/xfrd.state"
	xfrdir: "{dir}/xfr"
	pidfile: "{dir}/nsd.pid"
	logfile: "{dir}/nsd.log"
	cookie-secret-file: "{dir}/cookiesecrets.txt"
	verbosity: 2
	hide-version: yes
	identity: "sealmail-test"
	minimal-responses: no
remote-control:
	control-enable: no
"""


def missing():
    """Why a private NSD cannot run here, or None."""
    for prog, pkg in ((NSD, "nsd"), (KEYGEN, "ldnsutils"),
                      (SIGNZONE, "ldnsutils")):
        if not os.path.exists(prog):
            return "%s is not installed (apt-get install %s)" % (prog, pkg)
    return None


def free_port():
    """A loopback port free for both UDP and TCP, as NSD needs."""
    return harness.free_port(udp=True)


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query_packet(name, qtype, qid=None, dnssec=False):
    """A DNS query in wire form, EDNS0 with DO when dnssec."""
    qid = random.randrange(65536) if qid is None else qid
    t = TYPES[qtype] if isinstance(qtype, str) else qtype
    head = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1)
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0x8000 if dnssec else 0, 0)
    return head + wire_name(name) + struct.pack("!HH", t, 1) + opt


class DnsServer:
    """One NSD on 127.0.0.1:port serving zones from a temporary dir."""

    def __init__(self, zones, signed=(), tamper=(), keep=None, port=None):
        """port: a fixed port (53 in a namespace of its own) instead of
        a free one."""
        self.zones = zones
        self.fixed_port = port
        self.signed = set(signed)
        self.tamper = [(o.rstrip(".").lower(), t.upper()) for o, t in tamper]
        self.dir = tempfile.mkdtemp(prefix="smdns-", dir="/tmp")
        self.keep = os.environ.get("SEALMAIL_KEEP") == "1" \
            if keep is None else keep
        self.port = None
        self.proc = None
        self.trust_anchor = None

    @property
    def resolver(self):
        return "127.0.0.1@%d" % self.port

    # --- zones ---

    def _zone_text(self, zone, records):
        lines = ["$ORIGIN %s." % zone, "$TTL 300",
                 "@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300"
                 % (zone, zone),
                 "@ IN NS ns.%s." % zone,
                 "ns IN A 127.0.0.1"]
        return "\n".join(lines + list(records)) + "\n"

    def _run(self, argv):
        r = subprocess.run(argv, cwd=self.dir, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (argv[0], r.stdout,
                                                    r.stderr))
        return r.stdout

    def _sign(self, zone, path):
        """Sign path in place; returns the DS lines for the anchor."""
        base = self._run([KEYGEN, "-a", "ECDSAP256SHA256", "-k",
                          zone]).strip()
        self._run([SIGNZONE, "-o", zone, "-f", path + ".signed", path,
                   base])
        with open(os.path.join(self.dir, base + ".ds")) as f:
            ds = f.read()
        os.replace(path + ".signed", path)
        return ds

    def _tamper_zone(self, path):
        """Flip a byte in the signature of each RRSIG to be tampered."""
        with open(path) as f:
            lines = f.read().splitlines()
        hit = set()
        for i, line in enumerate(lines):
            f = line.split()
            if len(f) < 13 or f[3] != "RRSIG":
                continue
            key = (f[0].rstrip(".").lower(), f[4].upper())
            if key not in self.tamper:
                continue
            sig = bytearray(base64.b64decode("".join(f[12:])))
            sig[len(sig) // 2] ^= 0x5a
            lines[i] = "\t".join(f[:12] + [base64.b64encode(sig).decode()])
            hit.add(key)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return hit

    def _write_zones(self):
        conf = NSD_CONF.format(port=self.port, dir=self.dir)
        anchors, tampered = "", set()
        for zone, records in self.zones.items():
            path = os.path.join(self.dir, zone + ".zone")
            with open(path, "w") as f:
                f.write(self._zone_text(zone, records))
            if zone in self.signed:
                anchors += self._sign(zone, path)
                tampered |= self._tamper_zone(path)
            conf += "zone:\n\tname: \"%s\"\n\tzonefile: \"%s\"\n" % (
                zone, path)
        left = set(self.tamper) - tampered
        if left:
            raise RuntimeError("no RRSIG to tamper with for %s" % left)
        if anchors:
            self.trust_anchor = os.path.join(self.dir, "trust-anchor")
            with open(self.trust_anchor, "w") as f:
                f.write(anchors)
        with open(os.path.join(self.dir, "nsd.conf"), "w") as f:
            f.write(conf)

    # --- the server ---

    def query(self, name, qtype, timeout=1.0, dnssec=False):
        """NSD's raw answer to one UDP query, or None."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            pkt = query_packet(name, qtype, dnssec=dnssec)
            s.sendto(pkt, ("127.0.0.1", self.port))
            try:
                data = s.recv(65535)
            except OSError:
                return None
            return data if data[:2] == pkt[:2] else None

    def _ready(self):
        zone = next(iter(self.zones))
        r = self.query(zone, "SOA", timeout=0.2)
        return r is not None and r[3] & 0x0f == 0

    def _log(self):
        try:
            with open(os.path.join(self.dir, "nsd.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def _start_once(self):
        self.port = self.fixed_port or free_port()
        self._write_zones()
        self.proc = subprocess.Popen(
            [NSD, "-d", "-c", os.path.join(self.dir, "nsd.conf")],
            cwd=self.dir, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True)
        end = time.time() + 15
        while time.time() < end:
            if self.proc.poll() is not None:
                return False
            if self._ready():
                return True
            time.sleep(0.05)
        return False

    def start(self):
        if missing():
            raise RuntimeError(missing())
        for _ in range(3):
            if self._start_once():
                return self
            self._kill()
        raise RuntimeError("nsd did not start:\n" + self._log())

    def _kill(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # NSD's xfrd and server children are in the same group
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.proc = None

    def stop(self):
        self._kill()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    """Serve the zones of argv[0] on port 53 while argv[2:] runs with
    argv[1] on its standard input; its output and status become ours."""
    with open(argv[0]) as f:
        zones = json.load(f)
    with DnsServer(zones, port=53):
        with open(argv[1], "rb") as msg:
            p = subprocess.run(argv[2:], stdin=msg, capture_output=True,
                               timeout=60)
    sys.stdout.buffer.write(p.stdout)
    sys.stderr.buffer.write(p.stderr)
    return p.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
