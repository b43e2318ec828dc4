# common/dns.mk - asynchronous DNS on libunbound and its answer parser
# (see common/dns.h); included from common/local.mk.
libsealmail_a_SOURCES += common/dns.c common/dns.h common/dns_parse.c

check_PROGRAMS += tests/unit/test-dns tests/unit/test-dns-bad \
	tests/unit/test-dns-ctx
tests_unit_test_dns_SOURCES = tests/unit/test-dns.c tests/unit/test-dns-pk.h
tests_unit_test_dns_LDADD = $(SM_LIBS)
tests_unit_test_dns_bad_SOURCES = tests/unit/test-dns-bad.c \
	tests/unit/test-dns-pk.h
tests_unit_test_dns_bad_LDADD = $(SM_LIBS)
tests_unit_test_dns_ctx_SOURCES = tests/unit/test-dns-ctx.c
tests_unit_test_dns_ctx_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-dns tests/unit/test-dns-bad tests/unit/test-dns-ctx

# dnsq: resolves names through common/dns for tests/integration/test_dns.py;
# built by "make check", never installed.
check_PROGRAMS += tests/tools/dnsq
tests_tools_dnsq_SOURCES = tests/tools/dnsq.c
tests_tools_dnsq_LDADD = $(SM_LIBS)

EXTRA_DIST += tests/fuzz/fuzz-dns.c
