"""kstools.py - what the keystore's integration tests share: the TXT
records `sealmailctl keys dns` prints, read back for python3-dkim's DNS
function; tests/tools/kssign run as any user; a raw client of the signing
socket that speaks common/ipc's framing itself; the key server's
multi-line answers; and what a process holds in memory (/proc)."""

import os
import shutil
import socket
import struct
import subprocess
import time

from harness import BUILDDIR

MESSAGE = (b"From: Alice <alice@example.test>\r\n"
           b"To: Bob <bob@example.test>\r\n"
           b"Subject: sealed\r\n"
           b"Date: Sat, 05 Dec 2026 12:00:00 +0000\r\n"
           b"Message-ID: <k1@example.test>\r\n"
           b"\r\n"
           b"Signed through the keystore.\r\n")

# The DER that opens every PKCS#8 private key of ours, from its version
# on: RSA (rsaEncryption, NULL, OCTET STRING of 4xx bytes) and Ed25519.
PKCS8_RSA = bytes.fromhex("020100300d06092a864886f70d0101010500048204")
PKCS8_ED25519 = bytes.fromhex("020100300506032b657004220420")


def db_password(inst):
    """Berkeley DB's password for the key database, derived from the
    passphrase with keystore.kdf as keystore/ks_key.c does."""
    import hashlib
    import hmac
    with open(inst.path("etc", "keystore.passphrase"), "rb") as f:
        pw = f.readline().strip()
    with open(inst.path("keys", "keystore.kdf")) as f:
        magic, version, alg, it, salt, check = f.read().split()
    assert (magic, version, alg) == ("sealmail-keystore-kdf", "1",
                                     "pbkdf2-sha256")
    master = hashlib.pbkdf2_hmac("sha256", pw, bytes.fromhex(salt),
                                 int(it), 32)
    assert hmac.new(master, b"sealmail keystore check",
                    "sha256").hexdigest() == check
    return hmac.new(master, b"sealmail keystore bdb", "sha256").hexdigest()


def dns_lines(inst, domain=None):
    args = ["keys", "dns"] + ([domain] if domain else [])
    return inst.ctl(*args).stdout.splitlines()


def txt_strings(line):
    """The <character-string>s of one `keys dns` line, unquoted."""
    rest = line.split(" IN TXT ", 1)[1]
    assert rest.startswith('"') and rest.endswith('"'), line
    return rest[1:-1].split('" "')


def dns_records(inst):
    """{b"sel._domainkey.domain.": b"v=DKIM1; ..."} from `keys dns`."""
    recs = {}
    for line in dns_lines(inst):
        name = line.split(" IN TXT ", 1)[0]
        recs[(name + ".").encode()] = "".join(txt_strings(line)).encode()
    return recs


def dnsfunc(records):
    def lookup(name, timeout=5):
        if isinstance(name, str):
            name = name.encode()
        return records.get(name)
    return lookup


def kssign_path(inst):
    """tests/tools/kssign, copied where any user may run it."""
    dst = inst.path("libexec", "kssign")
    if not os.path.exists(dst):
        os.makedirs(inst.path("libexec"), mode=0o755, exist_ok=True)
        shutil.copy(os.path.join(BUILDDIR, "tests", "tools", "kssign"), dst)
        os.chmod(dst, 0o755)
    return dst


def kssign(inst, *args, user="sealmailq", input=MESSAGE, timeout=60):
    """Run kssign against the instance's keystore as user."""
    cmd = [kssign_path(inst), "-S", inst.path("run", "keystore.sock")]
    cmd += list(args)
    kw = {}
    if user != "root":
        kw = {"user": user, "group": user, "extra_groups": []}
    return subprocess.run(cmd, input=input, capture_output=True,
                          timeout=timeout, env=inst.env(), cwd="/", **kw)


# -- common/ipc framing ------------------------------------------------

IPC_ERR = 2
IPC_KS_SIGN = 500
IPC_KS_GETKEYS = 502
IPC_KS_KEYS = 503
IPC_KS_SIGNATURE = 504


def f_str(s):
    b = s.encode() if isinstance(s, str) else s
    return b"s" + struct.pack(">I", len(b)) + b + b"\0"


def f_data(b):
    return b"d" + struct.pack(">I", len(b)) + b


def f_u32(v):
    return b"u" + struct.pack(">I", v)


def frame(mtype, mid, payload):
    return struct.pack(">III", mtype, mid, len(payload)) + payload


def read_frame(sock):
    """(type, id, fields) of one message, or None at EOF."""
    hdr = recv_exact(sock, 12)
    if hdr is None:
        return None
    mtype, mid, plen = struct.unpack(">III", hdr)
    payload = recv_exact(sock, plen & 0x7fffffff) if plen else b""
    fields, pos = [], 0
    while pos < len(payload):
        tag = payload[pos:pos + 1]
        if tag == b"u":
            fields.append(struct.unpack(">I", payload[pos + 1:pos + 5])[0])
            pos += 5
        elif tag == b"U":
            fields.append(struct.unpack(">Q", payload[pos + 1:pos + 9])[0])
            pos += 9
        else:
            n = struct.unpack(">I", payload[pos + 1:pos + 5])[0]
            v = payload[pos + 5:pos + 5 + n]
            fields.append(v.decode() if tag == b"s" else v)
            pos += 5 + n + (tag == b"s")
    return mtype, mid, fields


def recv_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            return None
        out += chunk
    return out


def signing_socket(inst):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(inst.path("run", "keystore.sock"))
    return s


# -- the key server ----------------------------------------------------

def key_answer(f, address):
    """Lines of one KEY answer: the +OK lines up to ".", or one -ERR."""
    f.write(b"KEY " + address.encode() + b"\r\n")
    f.flush()
    lines = []
    while True:
        line = f.readline()
        assert line.endswith(b"\r\n"), line
        line = line[:-2].decode()
        if line.startswith("-ERR"):
            assert not lines
            return [line]
        if line == ".":
            return lines
        assert line.startswith("+OK "), line
        lines.append(line)


def keyserver(inst):
    s = socket.create_connection(("127.0.0.1", inst.port("keyserver")), 10)
    f = s.makefile("rwb")
    greeting = f.readline()
    return s, f, greeting


# -- /proc ---------------------------------------------------------------

def memory_holds(pid, needle):
    """Whether a readable, writable region of pid's memory holds needle;
    None when the kernel does not let us read it."""
    try:
        maps = open("/proc/%d/maps" % pid).read().splitlines()
        mem = open("/proc/%d/mem" % pid, "rb", 0)
    except OSError:
        return None
    try:
        for line in maps:
            parts = line.split()
            if "r" not in parts[1] or "w" not in parts[1]:
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if hi - lo > 1 << 30:
                continue        # sanitizer shadow, reserved space
            try:
                mem.seek(lo)
                chunk = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            if chunk and needle in chunk:
                return True
        return False
    finally:
        mem.close()


def wait_until(pred, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False
