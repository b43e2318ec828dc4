#!/usr/bin/python3
"""
tlsa-seeds.py - writes the seed corpus of tests/fuzz/fuzz-tlsa.c
(tests/fuzz/corpus/tlsa/): a byte for how the answer validated (0
secure, 1 insecure, 2 bogus), then a DNS answer to a TLSA question for
_25._tcp.mx.example.test with the records of each seed.  The full
certificate and key come from openssl, made fresh.  Run it again from
the top of the tree when the format changes:

	/usr/bin/python3 tests/fuzz/tlsa-seeds.py

It replaces the seeds it names and leaves any other file there alone.
Not run by the build.
"""

import os
import struct
import subprocess
import tempfile

OUT = "tests/fuzz/corpus/tlsa"
QNAME = "_25._tcp.mx.example.test"


def wire_name(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def answer(records, rcode=0, sec=0):
    """records: rdata byte strings of TLSA records at the question name."""
    head = struct.pack("!HHHHHH", 0x1234, 0x8180 | rcode, 1, len(records),
                       0, 0)
    pkt = head + wire_name(QNAME) + struct.pack("!HH", 52, 1)
    for rd in records:
        pkt += b"\xc0\x0c" + struct.pack("!HHIH", 52, 1, 300, len(rd)) + rd
    return bytes([sec]) + pkt


def tlsa(usage, selector, mtype, data):
    return bytes([usage, selector, mtype]) + data


def der_objects():
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "1", "-subj", "/CN=mx.example.test",
                        "-keyout", os.path.join(d, "k"), "-outform", "DER",
                        "-out", os.path.join(d, "c")], check=True,
                       capture_output=True)
        cert = open(os.path.join(d, "c"), "rb").read()
        spki = subprocess.run(["openssl", "pkey", "-in",
                               os.path.join(d, "k"), "-pubout", "-outform",
                               "DER"], check=True,
                              capture_output=True).stdout
    return cert, spki


def main():
    cert, spki = der_objects()
    h32, h64 = bytes(range(32)), bytes(range(64))
    seeds = {
        "dane-ee-311": answer([tlsa(3, 1, 1, h32)]),
        "dane-ta-202": answer([tlsa(2, 0, 2, h64)]),
        "dane-ta-200-cert": answer([tlsa(2, 0, 0, cert)]),
        "dane-ee-310-spki": answer([tlsa(3, 1, 0, spki)]),
        "dane-ee-300-cert": answer([tlsa(3, 0, 0, cert)]),
        "pkix-only": answer([tlsa(0, 1, 1, h32), tlsa(1, 0, 2, h64)]),
        "mixed": answer([tlsa(1, 1, 1, h32), tlsa(3, 1, 1, h32),
                         tlsa(2, 1, 2, h64), tlsa(9, 9, 9, b"x")]),
        "short-digest": answer([tlsa(3, 1, 1, h32[:31])]),
        "long-digest": answer([tlsa(3, 1, 2, h64 + b"\0")]),
        "spki-trailing": answer([tlsa(3, 1, 0, spki + b"\0")]),
        "cert-cut": answer([tlsa(2, 0, 0, cert[:len(cert) // 2])]),
        "rdata-2": answer([b"\x03\x01"]),
        "rdata-3": answer([b"\x03\x01\x01"]),
        "many": answer([tlsa(3, 1, 1, bytes([i]) * 32) for i in range(12)]),
        "insecure": answer([tlsa(3, 1, 1, h32)], sec=1),
        "bogus": answer([tlsa(3, 1, 1, h32)], sec=2),
        "nxdomain": answer([], rcode=3),
        "servfail": answer([], rcode=2),
        "nodata": answer([]),
    }
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
