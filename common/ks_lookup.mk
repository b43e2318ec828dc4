# common/ks_lookup.mk - the key server's client (see common/ks_lookup.h):
# the line parser, the lookup in the event loop, the parser's unit test.
libsealmail_a_SOURCES += common/ks_lookup.c common/ks_lookup.h \
	common/ks_lookup_parse.c

check_PROGRAMS += tests/unit/test-ks-lookup
tests_unit_test_ks_lookup_SOURCES = tests/unit/test-ks-lookup.c
tests_unit_test_ks_lookup_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-ks-lookup

EXTRA_DIST += tests/fuzz/fuzz-keyserver-client.c
