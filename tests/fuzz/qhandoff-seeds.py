#!/usr/bin/python3
"""
qhandoff-seeds.py - writes the seed corpus of tests/fuzz/fuzz-qhandoff.c
(tests/fuzz/corpus/qhandoff/) in the wire format of common/qhandoff.h:
IPC frames (common/ipc.c: u32 type, u32 id, u32 payload length with
the fd flag, then tagged fields) of IPC_QUEUE_MESSAGE and of the queue's
answers.  Run it again when the hand-off changes, from the top of the
tree:

	/usr/bin/python3 tests/fuzz/qhandoff-seeds.py

It replaces the seeds it names and leaves any other file there (the
fuzzer's own finds, reproducers) alone.  Not run by the build.
"""

import os
import struct
import sys

IPC_OK = 1
IPC_ERR = 2
IPC_QUEUE_MESSAGE = 200
IPC_FLAG_FD = 0x80000000

Q_CLASS_UNSAFE = 0
Q_CLASS_SAFE = 1
Q_RCPT_LOCAL = 0x01
Q_MAX_RCPT = 1000


def u32(v):
    return b"u" + struct.pack(">I", v)


def s(v):
    if isinstance(v, str):
        v = v.encode("utf-8")
    return b"s" + struct.pack(">I", len(v)) + v + b"\0"


def frame(mtype, req, payload, fd=False):
    plen = len(payload) | (IPC_FLAG_FD if fd else 0)
    return struct.pack(">III", mtype, req, plen) + payload


def handoff(req, qid, sender, cls, helo, peer, author, rcpts, nrcpt=None,
            fd=True):
    """An IPC_QUEUE_MESSAGE; rcpts are (address, user, flags)."""
    p = s(qid) + s(sender) + u32(cls) + s(helo) + s(peer) + s(author)
    p += u32(len(rcpts) if nrcpt is None else nrcpt)
    for addr, user, flags in rcpts:
        p += s(addr) + s(user) + u32(flags)
    return frame(IPC_QUEUE_MESSAGE, req, p, fd)


HELO = "client.example.test"
PEER = "192.0.2.7"
QID = "0123456789abcdef"


def seeds():
    local = ("bob@example.test", "bob@example.test", Q_RCPT_LOCAL)
    remote = ("carol@example.net", "", 0)
    submit = handoff(1, QID, "alice@example.test", Q_CLASS_SAFE, HELO, PEER,
                     "alice@example.test", [local, remote])
    out = {}
    # submitd's parent: a login as the author, one local, one remote
    out["submit-author"] = submit
    # the system's mail (a bounce): null sender, a domain as the author
    out["bounce-domain-author"] = handoff(
        2, "", "", Q_CLASS_SAFE, "mx.example.test", "127.0.0.1",
        "example.test", [remote])
    # smtpd.receiver: no author, unsafe, <Postmaster> with no domain
    out["receiver"] = handoff(
        9, "", "", Q_CLASS_UNSAFE, HELO, PEER, "",
        [("Postmaster", "postmaster@example.test", Q_RCPT_LOCAL)])
    # a receiver's UTF-8 sender and a quoted local part
    out["receiver-utf8"] = handoff(
        3, "", "jos\u00e9@example.net", Q_CLASS_UNSAFE, HELO, PEER, "",
        [('"john doe"@example.test', "john@example.test", Q_RCPT_LOCAL)])
    # many recipients, local and remote, some as the local user
    many = []
    for i in range(64):
        if i % 3 == 0:
            many.append(("r%d@example.net" % i, "", 0))
        elif i % 3 == 1:
            many.append(("u%d@example.test" % i, "u%d@example.test" % i,
                         Q_RCPT_LOCAL))
        else:
            many.append(("alias%d@example.test" % i, "u%d@example.test" % i,
                         Q_RCPT_LOCAL))
    out["many-rcpt"] = handoff(4, QID, "alice@example.test", Q_CLASS_SAFE,
                               HELO, PEER, "alice@example.test", many)
    # one more than Q_MAX_RCPT claimed: refused before any is read
    out["too-many-rcpt"] = handoff(5, "", "a@example.test", Q_CLASS_SAFE,
                                   HELO, PEER, "", [remote],
                                   nrcpt=Q_MAX_RCPT + 1)
    # Q_MAX_RCPT claimed, one sent: the frame ends early
    out["rcpt-count-short"] = handoff(6, "", "a@example.test",
                                      Q_CLASS_SAFE, HELO, PEER, "",
                                      [remote], nrcpt=Q_MAX_RCPT)
    # long strings at their limits: a 254-byte author (a domain of four
    # 63-byte labels minus one), a 64-byte local part, a 512-byte HELO
    lab = "a" * 63
    dom254 = ".".join([lab, lab, lab, "b" * 62])
    longaddr = "l" * 64 + "@" + ".".join([lab, lab, "c" * 56, "test"])
    out["long-at-limits"] = handoff(
        7, QID, longaddr, Q_CLASS_SAFE, "h" * 512, "p" * 512, dom254,
        [(longaddr, longaddr, Q_RCPT_LOCAL)])
    # one byte over: a 255-byte author, a 513-byte HELO
    out["long-author-over"] = handoff(
        8, "", "a@example.test", Q_CLASS_SAFE, HELO, PEER, dom254 + "x",
        [remote])
    out["long-helo-over"] = handoff(
        10, "", "a@example.test", Q_CLASS_UNSAFE, "h" * 513, PEER, "",
        [remote])
    # an author with a space would end the envelope's author line
    out["bad-author"] = handoff(
        11, "", "a@example.test", Q_CLASS_SAFE, HELO, PEER,
        "alice@example.test bcc", [remote])
    # an address that smuggles envelope text
    out["bad-sender"] = handoff(
        200, "", "a@example.org> X-SEALMAIL-CLASS=safe Z=", Q_CLASS_SAFE,
        HELO, PEER, "", [("b@example.test", "b@example.test",
                          Q_RCPT_LOCAL)])
    # well formed, but no fd travels with it
    out["no-fd"] = handoff(12, "", "a@b.test", Q_CLASS_SAFE, HELO, PEER,
                           "a@b.test", [("c@d.test", "c@d.test",
                                         Q_RCPT_LOCAL)], fd=False)
    # truncated: the frame stops inside the second recipient (the
    # header promises more), and a frame whose fields stop after the
    # author (the header agrees: the request is short)
    out["truncated-frame"] = submit[:len(submit) - 9]
    short = s("") + s("a@b.test") + u32(Q_CLASS_SAFE) + s(HELO) + s(PEER)
    short += s("a@b.test")
    out["truncated-fields"] = frame(IPC_QUEUE_MESSAGE, 13, short, True)
    # the wire format before the author: a string is where nrcpt was
    old = s(QID) + s("alice@example.test") + u32(Q_CLASS_SAFE) + s(HELO)
    old += s(PEER) + u32(1) + s("bob@example.test") + s("") + u32(0)
    out["old-format"] = frame(IPC_QUEUE_MESSAGE, 14, old, True)
    # the queue's answers
    out["answer-ok"] = frame(IPC_OK, 5, s("fedcba9876543210"))
    out["answer-err"] = frame(IPC_ERR, 5, u32(452) + s("4.3.1 Queue full"))
    return out


def main():
    top = os.path.dirname(os.path.abspath(__file__))
    d = os.path.join(top, "corpus", "qhandoff")
    if len(sys.argv) > 1:
        d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
