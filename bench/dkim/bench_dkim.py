#!/usr/bin/env python3
"""bench_dkim.py - DKIM signatures and verifications per second: Sealmail's
digest signer (dkim_digest_sign, what the keystore runs) and verifier, and
signatures through a running keystore (the round trip over its socket),
against `openssl speed rsa2048 ed25519` on the same machine, same run.

    python3 bench/dkim/bench_dkim.py [--builddir build] [--runs 3] [--secs 3]

Per run and algorithm (RSA 2048, Ed25519), interleaved so load on the
shared machine hits all alike:
    dkimtool bench -k KEY -n SECS   signatures/s and verifications/s of a
                                    32-byte digest through common/dkim, and
                                    whole 5 KB messages verified per second
                                    (header split, body and header hashes,
                                    key record parsed into a fresh OpenSSL
                                    key, signature checked)
    kssign -B SECS -p DEPTH         signatures/s through the keystore of a
                                    throwaway instance (tests/integration/
                                    harness.py): common/ks_client -> the
                                    signing socket -> keystore.server
                                    (checks, forwards) -> the root parent
                                    (reads the key's record, signs) and
                                    back, with 1 and with 32 requests in
                                    flight
    openssl speed -mr -elapsed -seconds SECS rsa2048 ed25519
dkimtool and openssl count wall-clock time on one core; the keystore
round trip uses three processes (client, keystore.server, parent), the
signing itself one.  Prints the medians of --runs runs as Markdown tables,
then every run.  Keys are made fresh (openssl, and the keystore's own).
Run as root (the keystore starts as root), with a build without
sanitizers (build/, not build-asan/).
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))

ALGS = (("rsa-sha256", "RSA 2048", ["-algorithm", "RSA", "-pkeyopt",
                                     "rsa_keygen_bits:2048"]),
        ("ed25519-sha256", "Ed25519", ["-algorithm", "ED25519"]))


DEPTHS = (1, 32)


class Keystore:
    """A throwaway instance whose keystore signs for root (kssign)."""

    def __init__(self, builddir):
        os.environ["SEALMAIL_BUILDDIR"] = os.path.abspath(builddir)
        sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
        from harness import Instance
        self.inst = Instance(extra_conf={
            "global": {"log_level": "info"},
            "keystore": {"clients": "root"}})
        self.inst.add_user("bench@example.test")
        self.inst.start("keystore")
        self.tool = os.path.join(builddir, "tests", "tools", "kssign")

    def run(self, alg, secs, depth):
        out = subprocess.run(
            [self.tool, "-S", self.inst.path("run", "keystore.sock"),
             "-B", str(secs), "-a", alg.split("-")[0], "-p", str(depth),
             "bench@example.test"],
            capture_output=True, text=True, check=True).stdout
        return float(re.search(r"signatures_per_sec=([\d.]+)", out).group(1))

    def close(self):
        self.inst.close()


def sealmail_run(tool, key, secs):
    out = subprocess.run([tool, "bench", "-k", key, "-n", str(secs)],
                         capture_output=True, text=True, check=True).stdout
    return {k: float(v) for k, v in re.findall(r"(\w+_per_sec)=([\d.]+)",
                                                 out)}


OPENSSL_NAMES = {"rsa-sha256": "rsa2048", "ed25519-sha256": "ed25519"}


def openssl_run(secs, algs=("rsa-sha256", "ed25519-sha256")):
    """{alg: (sign/s, verify/s)} from openssl speed's machine output."""
    out = subprocess.run(["openssl", "speed", "-mr", "-elapsed", "-seconds",
                          str(secs)] + [OPENSSL_NAMES[a] for a in algs],
                         capture_output=True, text=True, check=True).stdout
    res = {}
    for line in out.splitlines():
        f = line.split(":")
        if f[0] == "+F2" and f[2] == "2048":
            res["rsa-sha256"] = (float(f[3]), float(f[4]))
        elif f[0] == "+F6" and f[3] == "Ed25519":
            res["ed25519-sha256"] = (float(f[4]), float(f[5]))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default=os.path.join(SRC, "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--secs", type=int, default=3)
    a = ap.parse_args()
    tool = os.path.join(a.builddir, "tests", "tools", "dkimtool")
    for t in ("dkimtool", "kssign"):
        if not os.path.exists(os.path.join(a.builddir, "tests", "tools", t)):
            subprocess.run(["make", "-C", a.builddir, "-s",
                            "tests/tools/" + t], check=True)
    tmp = tempfile.mkdtemp(prefix="sealmail-bench-dkim-")
    keys = {}
    for alg, _, args in ALGS:
        keys[alg] = os.path.join(tmp, alg + ".pem")
        subprocess.run(["openssl", "genpkey"] + args + ["-out", keys[alg]],
                       check=True, capture_output=True)
    ks = Keystore(a.builddir)
    runs = []
    try:
        for r in range(a.runs):
            sm = {alg: sealmail_run(tool, keys[alg], a.secs)
                  for alg, _, _ in ALGS}
            ossl = openssl_run(a.secs)
            for alg, _, _ in ALGS:
                # the keystore right after openssl on the same algorithm,
                # so both see the same load (the shared machine's moves
                # by a factor of two within a minute)
                sm[alg]["openssl_next"] = openssl_run(a.secs, (alg,))[alg][0]
                for depth in DEPTHS:
                    sm[alg]["keystore_%d" % depth] = ks.run(alg, a.secs,
                                                            depth)
            runs.append((sm, ossl))
            print("run %d done" % (r + 1), file=sys.stderr)
    finally:
        ks.close()
        shutil.rmtree(tmp)

    def med(f):
        return statistics.median(f(sm, ossl) for sm, ossl in runs)
    print("| algorithm | Sealmail sign/s | openssl sign/s | ratio "
          "| Sealmail verify/s | openssl verify/s | ratio "
          "| 5 KB messages verified/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for alg, name, _ in ALGS:
        ss = med(lambda sm, o: sm[alg]["sign_per_sec"])
        os_ = med(lambda sm, o: o[alg][0])
        sv = med(lambda sm, o: sm[alg]["verify_per_sec"])
        ov = med(lambda sm, o: o[alg][1])
        mv = med(lambda sm, o: sm[alg]["message_verify_per_sec"])
        print("| %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f | %.0f |" % (
            name, ss, os_, ss / os_, sv, ov, sv / ov, mv))
    print()
    # the load of a shared machine moves between runs: the ratio is the
    # median of each run's own ratio
    print("| algorithm | keystore sign/s, 1 in flight | keystore sign/s, "
          "32 in flight | openssl sign/s (just before) | ratio, 1 in flight "
          "| ratio, 32 in flight |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for alg, name, _ in ALGS:
        k1 = med(lambda sm, o: sm[alg]["keystore_1"])
        k32 = med(lambda sm, o: sm[alg]["keystore_32"])
        os_ = med(lambda sm, o: sm[alg]["openssl_next"])
        r1 = med(lambda sm, o: sm[alg]["keystore_1"] /
                 sm[alg]["openssl_next"])
        r32 = med(lambda sm, o: sm[alg]["keystore_32"] /
                  sm[alg]["openssl_next"])
        print("| %s | %.0f | %.0f | %.0f | %.2f | %.2f |" % (
            name, k1, k32, os_, r1, r32))
    print()
    for i, (sm, o) in enumerate(runs):
        for alg, name, _ in ALGS:
            print("run %d %s: sealmail sign %.0f verify %.0f message %.0f; "
                  "openssl sign %.0f verify %.0f; keystore sign %.0f (1) "
                  "%.0f (32) after openssl sign %.0f" % (
                      i + 1, name, sm[alg]["sign_per_sec"],
                      sm[alg]["verify_per_sec"],
                      sm[alg]["message_verify_per_sec"], o[alg][0],
                      o[alg][1], sm[alg]["keystore_1"],
                      sm[alg]["keystore_32"], sm[alg]["openssl_next"]))


if __name__ == "__main__":
    main()
