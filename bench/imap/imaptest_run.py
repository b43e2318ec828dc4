#!/usr/bin/env python3
"""imaptest_run.py - Dovecot's imaptest against a fresh Sealmail imapd:
its scripted compliance tests (test=DIR) or its stress mode.

    python3 bench/imap/imaptest_run.py --imaptest PATH [--builddir build]
        [--tests DIR] [--stress SECS] [--clients 10] [--keep] [-- ARGS...]

imaptest is not in Debian: build it from its public repository (the
release-2.3 branch builds against Debian's dovecot-dev once
imap_parser_create() is given a zeroed struct imap_parser_params as its
new last argument).  The instance has two users, both over implicit TLS
(ssl=any-cert); --tests defaults to the tests/ directory next to the
imaptest binary's source.  Arguments after -- go to imaptest unchanged.
Exit status is imaptest's.
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

PW = "imaptest-pw"
USERS = ("testuser1@example.test", "testuser2@example.test")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imaptest", required=True)
    ap.add_argument("--builddir", default=os.path.join(SRC, "build"))
    ap.add_argument("--tests")
    ap.add_argument("--stress", type=int, default=0,
                    help="stress mode for this many seconds instead")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("rest", nargs="*")
    a = ap.parse_args()
    os.environ["SEALMAIL_BUILDDIR"] = os.path.abspath(a.builddir)
    os.environ["SEALMAIL_SRCDIR"] = SRC
    if a.keep:
        os.environ["SEALMAIL_KEEP"] = "1"
    import harness  # after the environment names the build

    inst = harness.Instance(prefix=tempfile.mkdtemp(prefix="sm-imaptest-",
                                                    dir="/tmp"))
    try:
        for u in USERS:
            inst.add_user(u, PW)
        inst.start("imapd")
        cmd = [a.imaptest, "host=127.0.0.1", "port=%d" % inst.port("imaps"),
               "ssl=any-cert", "user=%s" % USERS[0], "user2=%s" % USERS[1],
               "pass=%s" % PW]
        if a.stress:
            # both users, a bounded run that stops by itself
            cmd += ["user=testuser%d@example.test", "users=2",
                    "clients=%d" % a.clients, "secs=%d" % a.stress,
                    "mbox=" + os.path.join(
                        os.path.dirname(os.path.abspath(a.imaptest)),
                        "tests", "default.mbox"), "no_pipelining"]
            cmd = [c for c in cmd if not c.startswith("user=%s" % USERS[0])]
        else:
            tests = a.tests or os.path.join(
                os.path.dirname(os.path.abspath(a.imaptest)), "tests")
            cmd.append("test=%s" % tests)
        cmd += a.rest
        print("+ " + " ".join(cmd), flush=True)
        rc = subprocess.call(cmd)
        if a.keep:
            print("instance kept in %s" % inst.prefix)
        return rc
    finally:
        inst.close()


if __name__ == "__main__":
    sys.exit(main())
