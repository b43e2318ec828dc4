#!/usr/bin/env bash
# sealmail.sh - the project's front door.
#
#   ./sealmail.sh deps          install what is missing (Debian 12, as root; --bench: and bench/'s peers)
#   ./sealmail.sh build         build into build/ (and build-asan/ with ASan+UBSan)
#   ./sealmail.sh test          deps, build both, run every test; last line "N passed, N failed"
#   ./sealmail.sh demo          build and run a fresh instance in ./demo (wipes the old one)
#   ./sealmail.sh demo exchange two ISPs in ./demo-exchange: alice@isp-a.test writes to bob@isp-b.test
#   ./sealmail.sh start         restart the existing ./demo instance in place (keeps its mail)
#   ./sealmail.sh stop          stop the demo instance
#   ./sealmail.sh fuzz [secs]   build the libFuzzer targets with clang and run each
set -euo pipefail

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"

# Build dependencies and the real peers and clients the tests use.
DEB_PACKAGES=(
	build-essential autoconf automake pkg-config
	libssl-dev libdb5.3-dev db5.3-util libevent-dev libpam0g-dev zlib1g-dev
	libunbound-dev libcrypt-dev
	clang libfuzzer-14-dev
	libpam-wrapper libpam-modules
	python3 openssl swaks libnet-ssleay-perl libio-socket-inet6-perl
	curl isync procps netcat-openbsd
	postfix
	nsd ldnsutils
	python3-dkim opendkim-tools iproute2
	python3-yaml publicsuffix python3-authheaders
)

# What only the benchmarks run (bench/), with `deps --bench`: the peers
# they compare against.  Nothing in the tests needs these.  The daemons
# run as private instances from the benchmarks' own directories; on a
# host with an init system, installing unbound also starts Debian's
# resolver service, which the benchmarks do not use.
BENCH_PACKAGES=(
	opendkim opendmarc postfix-policyd-spf-python unbound
)

log() { printf '==> %s\n' "$*" >&2; }

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "sealmail.sh $1: must run as root (it installs packages and" \
		    "creates the Sealmail users)" >&2
		exit 1
	fi
}

cmd_deps() {
	need_root deps
	local missing=() p want=("${DEB_PACKAGES[@]}")
	[ "${1:-}" = "--bench" ] && want+=("${BENCH_PACKAGES[@]}")
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		# Postfix and NSD are test peers only: Postfix is installed
		# unconfigured, and the tests run private instances of both
		# from their own directories, never from /etc.
		echo "postfix postfix/main_mailer_type select No configuration" |
		    debconf-set-selections
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
	# The unprivileged users (docs/architecture.md, "Processes"): network
	# parsers, the queue, and the owner of every Maildir.
	local u
	for u in sealmail sealmailq vmail; do
		if ! getent passwd "$u" >/dev/null; then
			log "creating system user $u"
			useradd --system --no-create-home --home-dir /nonexistent \
			    --shell /usr/sbin/nologin "$u"
		fi
	done
}

# configure_dir DIR [configure args...]
configure_dir() {
	local dir=$1
	shift
	if [ ! -x configure ] || [ configure.ac -nt configure ] ||
	    [ Makefile.am -nt configure ]; then
		log "autoreconf"
		autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
	fi
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ configure -nt "$dir/config.status" ]; then
		log "configure $dir $*"
		(cd "$dir" && ../configure -q "$@")
	fi
}

cmd_build() {
	configure_dir build
	log "make (build/)"
	make -C build -j"$(nproc)" -s
	if [ "${1:-}" = "--asan" ]; then
		configure_dir build-asan --enable-sanitizers
		log "make (build-asan/)"
		make -C build-asan -j"$(nproc)" -s
	fi
}

# Unit tests of one build dir; prints the "ok"/"FAIL" lines.
run_unit() {
	local dir=$1 t
	if ! make -C "$dir" -s -j"$(nproc)" check TESTS= >"$dir/check-build.log" 2>&1; then
		echo "FAIL $(basename "$dir"): building the unit tests (see $dir/check-build.log)"
		sed 's/^/  /' "$dir/check-build.log" | grep -E 'error|Error' | head -n 20
	fi
	# pam_wrapper is preloaded by tests that run real PAM: ASan must not
	# insist on coming first, and pam_wrapper must not dlopen libpam with
	# RTLD_DEEPBIND, which the sanitizer runtime refuses (pam_wrapper
	# 1.1.4 reads the switch under uid_wrapper's name).
	ASAN_OPTIONS=verify_asan_link_order=0 UID_WRAPPER_DISABLE_DEEPBIND=1 \
	    PAM_WRAPPER_DISABLE_DEEPBIND=1 make -C "$dir" -s -j"$(nproc)" check >/dev/null 2>&1 || true
	for t in "$dir"/tests/unit/*.log; do
		[ -f "$t" ] || continue
		case "$t" in */test-suite.log) continue ;; esac
		# automake's own trailer ("FAIL name (exit status: 1)") is
		# not a test case; a crash is caught below.
		grep -av '(exit status: [0-9]*)$' "$t" |
		    sed -n -e "s|^ok |ok $(basename "$dir"): |p" \
		    -e "s|^FAIL |FAIL $(basename "$dir"): |p"
		# a test program that crashed before its summary is a failure
		grep -aqE '^[0-9]+ passed, [0-9]+ failed$' "$t" ||
		    echo "FAIL $(basename "$dir"): $(basename "$t" .log) crashed"
	done
}

run_integration() {
	local dir=$1
	SEALMAIL_BUILDDIR="$top/$dir" SEALMAIL_SRCDIR="$top" \
	    /usr/bin/python3 tests/integration/run.py "$(basename "$dir")"
}

# The two integration suites side by side (each mostly waits on its
# daemons), each on its own half of the test port range and into its
# own log, shown one after the other; then, alone, the tests that
# measure serving under load (test_flood), which the other suite's CPU
# use would make fail for the wrong reason.
ALONE=test_flood
run_integrations() {
	local low high mid la lb
	low=10000
	high=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
	mid=$(( (low + high) / 2 ))
	la=$(mktemp)
	lb=$(mktemp)
	export SEALMAIL_TESTS_EXCLUDE=$ALONE
	SEALMAIL_PORTS="$low-$mid" run_integration build >"$la" 2>&1 &
	local pa=$!
	SEALMAIL_PORTS="$mid-$high" \
	    ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 \
	    run_integration build-asan >"$lb" 2>&1 &
	local pb=$!
	wait "$pa" "$pb" || true
	unset SEALMAIL_TESTS_EXCLUDE
	cat "$la" "$lb"
	rm -f "$la" "$lb"
	SEALMAIL_TESTS=$ALONE run_integration build
	SEALMAIL_TESTS=$ALONE ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 \
	    run_integration build-asan
}

cmd_test() {
	need_root test
	cmd_deps
	cmd_build --asan
	local out
	out=$(mktemp)
	{
		run_unit build
		run_unit build-asan
		run_integrations
		fuzz_regress
	} 2>&1 | tee "$out" | grep -aE '^(ok|FAIL|  )' || true
	local pass fail
	pass=$(grep -ac '^ok ' "$out" || true)
	fail=$(grep -ac '^FAIL ' "$out" || true)
	if [ "$fail" != 0 ]; then
		echo "--- failures:"
		grep -a '^FAIL ' "$out"
	fi
	rm -f "$out"
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
}

FUZZ_CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icommon -Iimapd -Imda -Ikeystore -Ismtpd -DSM_SYSCONFDIR=\"/etc\""

# The sources each fuzz target links: the parser under test and what it
# stands on.  A new target adds its line here.
FUZZ_BASE="common/log.c common/xmalloc.c common/buf.c common/io.c \
    common/addr.c common/utf8.c"
FUZZ_CONFIG="common/config.c common/config_parse.c common/config_value.c \
    common/registry_dns_name.c"
FUZZ_USERDB="common/userdb.c common/userdb_settings.c common/userdb_alias.c \
    common/userdb_sendlog.c common/db.c $FUZZ_CONFIG"
FUZZ_ADDR_LIST="common/addr_list.c common/mime.c common/mime_header.c \
    common/mime_param.c common/mime_codec.c common/mime_measure.c \
    common/base64.c"
# imapd's per-user process: the session, every command, the folders.
FUZZ_IMAP_USER="imapd/client.c imapd/commands.c imapd/cmd-any.c \
    imapd/cmd-mailbox.c imapd/cmd-select.c imapd/cmd-fetch.c \
    imapd/cmd-search.c imapd/bodystructure.c imapd/compress.c \
    imapd/strings.c imapd/cmd-sort.c imapd/searchres.c imapd/esearch.c \
    imapd/sortkey.c imapd/thread.c imapd/flags.c imapd/cmd-list.c \
    imapd/cmd-append.c imapd/quota.c imapd/parser.c imapd/seqset.c \
    imapd/mailbox.c imapd/rescan.c imapd/message.c imapd/folders.c \
    imapd/index.c imapd/expunged.c \
    imapd/qresync.c imapd/condstore.c common/maildir.c \
    common/maildirsize.c common/db.c \
    $FUZZ_ADDR_LIST"
fuzz_sources() {
	case "$1" in
	config) echo $FUZZ_CONFIG ;;
	ipc) echo common/ipc.c common/net.c $FUZZ_CONFIG ;;
	qhandoff) echo common/qhandoff.c common/ipc.c common/net.c \
	    $FUZZ_CONFIG common/smtp_parse.c ;;
	imap) echo imapd/parser.c imapd/seqset.c ;;
	imap-thread) echo imapd/sortkey.c imapd/thread.c $FUZZ_ADDR_LIST ;;
	imap-session) echo $FUZZ_IMAP_USER ;;
	mime) echo common/mime.c common/mime_header.c common/mime_param.c \
	    common/mime_codec.c common/mime_measure.c common/base64.c \
	    mda/strip.c mda/strip_policy.c mda/strip_uu.c mda/strip_write.c \
	    mda/html.c ;;
	utf8) echo ;;
	base64) echo common/base64.c ;;
	mime-measure) echo common/mime_codec.c common/mime_measure.c \
	    common/base64.c ;;
	smtp) echo common/smtp_parse.c ;;
	session) echo common/smtp_parse.c common/net.c $FUZZ_CONFIG ;;
	smtp-client) echo common/smtp_client.c common/net.c \
	    $FUZZ_CONFIG ;;
	mta-result) echo smtpd/mta_policy.c ;;
	mta-sts) echo smtpd/mta_sts.c ;;
	callback) echo smtpd/callback_table.c common/net.c $FUZZ_CONFIG ;;
	keyserver) echo keystore/ks_proto.c ;;
	keyserver-client) echo common/ks_lookup_parse.c ;;
	ks-request) echo keystore/ks_req.c common/ipc.c common/net.c \
	    $FUZZ_USERDB common/dkim_sig.c \
	    common/dkim_tag.c common/base64.c ;;
	sasl) echo submitd/auth.c common/base64.c ;;
	submit-header) echo submitd/header.c $FUZZ_ADDR_LIST common/trace.c \
	    $FUZZ_USERDB ;;
	authres) echo smtpd/authres.c common/dkim_tag.c common/dkim_sig.c \
	    common/dkim_key.c common/dkim_canon.c common/dkim_msg.c \
	    common/dkim_verify.c $FUZZ_ADDR_LIST ;;
	trace) echo common/trace.c $FUZZ_USERDB ;;
	address) echo $FUZZ_USERDB ;;
	addr-list) echo $FUZZ_ADDR_LIST ;;
	dns) echo common/dns_parse.c ;;
	spf) echo common/spf_macro.c ;;
	dmarc) echo common/dmarc_record.c ;;
	tlsa) echo smtpd/mta_dane.c common/dns.c common/dns_parse.c \
	    $FUZZ_CONFIG ;;
	maildir) echo common/maildir.c ;;
	maildirsize) echo common/maildir.c common/maildirsize.c ;;
	registry) echo common/registry.c common/registry_ipc.c common/ipc.c \
	    common/net.c common/db.c $FUZZ_CONFIG ;;
	dkim-sig | dkim-key) echo common/dkim_tag.c common/dkim_sig.c \
	    common/dkim_key.c common/dkim_canon.c common/dkim_msg.c \
	    common/dkim_verify.c common/base64.c ;;
	*) echo "sealmail.sh: no source list for fuzz target $1" >&2; return 1 ;;
	esac
}

# fuzz_build NAME: build tests/fuzz/fuzz-NAME.c into tests/fuzz/bin/.
fuzz_build() {
	local name=$1 srcs
	srcs=$(fuzz_sources "$name") || return 1
	mkdir -p tests/fuzz/bin
	# shellcheck disable=SC2086
	clang $FUZZ_CFLAGS "tests/fuzz/fuzz-$name.c" $FUZZ_BASE $srcs \
	    -o "tests/fuzz/bin/fuzz-$name" \
	    $(pkg-config --libs libevent_openssl libevent openssl) -ldb-5.3 \
	    -lunbound -lz
}

# Every target over its seed corpus: a regression run, one test each.
fuzz_regress() {
	local f name
	for f in tests/fuzz/fuzz-*.c; do
		[ -f "$f" ] || continue
		name=$(basename "$f" .c)
		name=${name#fuzz-}
		if fuzz_build "$name" >/tmp/sealmail-fuzz-$name.log 2>&1 &&
		    "tests/fuzz/bin/fuzz-$name" -runs=0 "tests/fuzz/corpus/$name" \
		    >>/tmp/sealmail-fuzz-$name.log 2>&1; then
			echo "ok fuzz: $name seed corpus replays clean"
		else
			echo "FAIL fuzz: $name seed corpus (see /tmp/sealmail-fuzz-$name.log)"
		fi
	done
}

cmd_fuzz() {
	local secs=${1:-60} f name
	for f in tests/fuzz/fuzz-*.c; do
		name=$(basename "$f" .c)
		name=${name#fuzz-}
		log "fuzz $name for ${secs}s"
		fuzz_build "$name"
		mkdir -p "tests/fuzz/out/$name"
		"tests/fuzz/bin/fuzz-$name" -max_total_time="$secs" \
		    -artifact_prefix="tests/fuzz/out/$name/" \
		    "tests/fuzz/out/$name" "tests/fuzz/corpus/$name" 2>&1 | tail -n 3
	done
}

cmd_demo() {
	case "${1:-}" in
	""|exchange) ;;
	*)	echo "sealmail.sh demo: unknown demo $1 (try: demo, demo exchange)" >&2
		exit 64 ;;
	esac
	need_root demo
	cmd_deps
	cmd_build
	if [ "${1:-}" = exchange ]; then
		SEALMAIL_BUILDDIR="$top/build" SEALMAIL_SRCDIR="$top" \
		    /usr/bin/python3 tests/integration/demo.py exchange \
		    "$top/demo-exchange"
		return
	fi
	SEALMAIL_BUILDDIR="$top/build" SEALMAIL_SRCDIR="$top" \
	    /usr/bin/python3 tests/integration/demo.py start "$top/demo"
}

# The existing demo instance, restarted in place (nothing is wiped).
cmd_start() {
	need_root start
	cmd_build
	SEALMAIL_BUILDDIR="$top/build" SEALMAIL_SRCDIR="$top" \
	    /usr/bin/python3 tests/integration/demo.py restart "$top/demo"
}

cmd_stop() {
	SEALMAIL_BUILDDIR="$top/build" SEALMAIL_SRCDIR="$top" \
	    /usr/bin/python3 tests/integration/demo.py stop "$top/demo"
}

case "${1:-}" in
deps) shift; cmd_deps "$@" ;;
build) shift; cmd_build "$@" ;;
test) cmd_test ;;
demo) shift; cmd_demo "$@" ;;
start) cmd_start ;;
stop) cmd_stop ;;
fuzz) shift; cmd_fuzz "$@" ;;
*)
	sed -n '2,12s/^# \{0,1\}//p' "$0" >&2
	exit 64
	;;
esac
