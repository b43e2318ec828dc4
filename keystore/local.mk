# keystore/local.mk - the keystore daemon, its key database (also built
# into sealmailctl, see sealmailctl/local.mk) and their unit tests.
KS_DB_SOURCES = keystore/ks_key.c keystore/ks_key.h \
	keystore/ks_db.c keystore/ks_db.h keystore/ks_db_int.h \
	keystore/ks_life.c keystore/ks_req.c keystore/ks_req.h

pkglibexec_PROGRAMS += keystore/keystore
keystore_keystore_SOURCES = keystore/keystore.c keystore/keystore.h \
	keystore/parent.c keystore/server.c keystore/signer.c \
	keystore/keyserver.c keystore/ks_proto.c keystore/ks_proto.h \
	$(KS_DB_SOURCES)
keystore_keystore_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/keystore
keystore_keystore_LDADD = $(SM_LIBS)

check_PROGRAMS += tests/unit/test-ks-proto tests/unit/test-ks-db \
	tests/unit/test-ks-req
tests_unit_test_ks_proto_SOURCES = tests/unit/test-ks-proto.c \
	keystore/ks_proto.c
tests_unit_test_ks_proto_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/keystore
tests_unit_test_ks_proto_LDADD = $(SM_LIBS)
tests_unit_test_ks_db_SOURCES = tests/unit/test-ks-db.c $(KS_DB_SOURCES)
tests_unit_test_ks_db_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/keystore
tests_unit_test_ks_db_LDADD = $(SM_LIBS)
tests_unit_test_ks_req_SOURCES = tests/unit/test-ks-req.c \
	keystore/ks_req.c keystore/ks_req.h
tests_unit_test_ks_req_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/keystore
tests_unit_test_ks_req_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-ks-proto tests/unit/test-ks-db tests/unit/test-ks-req
