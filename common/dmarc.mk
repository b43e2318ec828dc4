# common/dmarc.mk - DMARC (RFC 7489): the Public Suffix List, policy
# discovery on common/dns and the result (see common/dmarc.h); included
# from common/local.mk.
libsealmail_a_SOURCES += common/dmarc.c common/dmarc.h \
	common/dmarc_psl.c common/dmarc_record.c

check_PROGRAMS += tests/unit/test-dmarc
tests_unit_test_dmarc_SOURCES = tests/unit/test-dmarc.c
tests_unit_test_dmarc_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-dmarc

EXTRA_DIST += tests/fuzz/fuzz-dmarc.c

# dmarccheck: one check through the real resolver, for
# tests/integration/test_dmarc.py; built by "make check".
check_PROGRAMS += tests/tools/dmarccheck
tests_tools_dmarccheck_SOURCES = tests/tools/dmarccheck.c
tests_tools_dmarccheck_LDADD = $(SM_LIBS)
