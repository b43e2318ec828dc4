# keystore/local.mk - the keystore daemon.
pkglibexec_PROGRAMS += keystore/keystore
keystore_keystore_SOURCES = keystore/keystore.c keystore/keystore.h \
	keystore/keyserver.c keystore/ks_proto.c keystore/ks_proto.h
keystore_keystore_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/keystore
keystore_keystore_LDADD = $(SM_LIBS)

check_PROGRAMS += tests/unit/test-ks-proto
tests_unit_test_ks_proto_SOURCES = tests/unit/test-ks-proto.c \
	keystore/ks_proto.c
tests_unit_test_ks_proto_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/keystore
tests_unit_test_ks_proto_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-ks-proto
