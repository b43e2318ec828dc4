#!/bin/sh
# postfix-setup.sh - a private Postfix submission service with Dovecot SASL
# for comparison with submitd (bench.py --target 127.0.0.1:15870).
#
#	sh bench/submit/postfix-setup.sh [DIR]	(default /tmp/pfbench)
#	python3 bench/submit/bench.py --target 127.0.0.1:15870 \
#	    --user bench0@example.test --password "bench password" \
#	    --pids "$(cat DIR/queue/pid/master.pid | tr -d ' '),$(pgrep -of "dovecot -c DIR")"
#	sh bench/submit/postfix-setup.sh stop [DIR]
#
# Needs the postfix and dovecot-core packages (apt-get install postfix
# with "No configuration", so the system instance stays unconfigured).
# Everything lives in DIR: config, queue, Dovecot's auth socket; the
# listener is 127.0.0.1:15870, STARTTLS, AUTH PLAIN/LOGIN only under TLS
# (smtpd_tls_auth_only), and mail to other domains is deferred
# (defer_transports = smtp) so nothing leaves the machine.  The password
# is hashed with yescrypt at libxcrypt's default cost, as sealmailctl
# user passwd does for Sealmail, so both pay the same for a login.
set -e
if [ "$1" = stop ]; then
	B=${2:-/tmp/pfbench}
	postfix -c "$B/etc" stop || true
	doveadm -c "$B/etc/dovecot.conf" stop 2>/dev/null || true
	exit 0
fi
B=${1:-/tmp/pfbench}
mkdir -p "$B/etc" "$B/queue" "$B/data" "$B/dovecot-run"
chown postfix:postfix "$B/data"
cd "$B"
[ -f etc/cert.pem ] || openssl req -x509 -newkey ec \
    -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
    -keyout etc/key.pem -out etc/cert.pem 2>/dev/null
HASH=$(python3 -c '
import ctypes
lc = ctypes.CDLL("libcrypt.so.1")
lc.crypt_gensalt.restype = ctypes.c_char_p
lc.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong,
                             ctypes.c_char_p, ctypes.c_int]
lc.crypt.restype = ctypes.c_char_p
lc.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
print(lc.crypt(b"bench password", lc.crypt_gensalt(b"$y$", 0, None, 0)).decode())')
: > etc/users
for k in 0 1 2 3 4 5 6 7 8 9; do
	echo "bench$k@example.test:{CRYPT}$HASH" >> etc/users
done
cat > etc/main.cf <<EOC
compatibility_level = 3.6
queue_directory = $B/queue
data_directory = $B/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.test
mydomain = example.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtpd_peername_lookup = no
smtpd_tls_cert_file = $B/etc/cert.pem
smtpd_tls_key_file = $B/etc/key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_process_limit = 100
defer_transports = smtp
EOC
sed -e 's/^smtp      inet.*$/127.0.0.1:15870 inet n - n - - smtpd/' \
    /etc/postfix/master.cf > etc/master.cf
cat > etc/dovecot.conf <<EOC
base_dir = $B/dovecot-run
protocols =
ssl = no
auth_mechanisms = plain login
log_path = $B/dovecot.log
passdb {
  driver = passwd-file
  args = $B/etc/users
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=/tmp
}
service auth {
  unix_listener $B/queue/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOC
postfix -c "$B/etc" set-permissions >/dev/null 2>&1 || true
postfix -c "$B/etc" start </dev/null
dovecot -c "$B/etc/dovecot.conf"
echo "postfix submission on 127.0.0.1:15870, users bench0..9@example.test"
