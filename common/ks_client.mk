# common/ks_client.mk - the keystore's signing protocol, client side (see
# common/ks_client.h), its unit test and the kssign test program (built
# by "make check", never installed).
libsealmail_a_SOURCES += common/ks_client.c common/ks_client.h

check_PROGRAMS += tests/tools/kssign
tests_tools_kssign_SOURCES = tests/tools/kssign.c
tests_tools_kssign_LDADD = $(SM_LIBS)

check_PROGRAMS += tests/unit/test-ks-client
tests_unit_test_ks_client_SOURCES = tests/unit/test-ks-client.c
tests_unit_test_ks_client_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-ks-client
