# common/spf.mk - SPF (RFC 7208) check_host() on common/dns (see
# common/spf.h); included from common/local.mk.
libsealmail_a_SOURCES += common/spf.c common/spf.h common/spf_macro.c

check_PROGRAMS += tests/unit/test-spf
tests_unit_test_spf_SOURCES = tests/unit/test-spf.c
tests_unit_test_spf_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-spf

# spfcheck: one check through the real resolver, for
# tests/integration/test_spf_suite.py; built by "make check".
check_PROGRAMS += tests/tools/spfcheck
tests_tools_spfcheck_SOURCES = tests/tools/spfcheck.c
tests_tools_spfcheck_LDADD = $(SM_LIBS)

EXTRA_DIST += tests/fuzz/fuzz-spf.c tests/data/spf/rfc7208-tests.yml \
	tests/data/spf/rfc7208-tests.LICENSE \
	tests/data/spf/rfc7208-tests.CHANGES
