# common/dkim.mk - DKIM signing and verification (see common/dkim.h), its
# unit tests and the dkimtool test program (built by "make check", never
# installed).
libsealmail_a_SOURCES += common/dkim.h common/dkim_int.h \
	common/dkim_tag.c common/dkim_sig.c common/dkim_key.c \
	common/dkim_canon.c common/dkim_msg.c common/dkim_sign.c \
	common/dkim_verify.c

check_PROGRAMS += tests/unit/test-dkim-parse tests/unit/test-dkim-canon \
	tests/unit/test-dkim tests/unit/test-dkim-sign
tests_unit_test_dkim_parse_SOURCES = tests/unit/test-dkim-parse.c
tests_unit_test_dkim_parse_LDADD = $(SM_LIBS)
tests_unit_test_dkim_canon_SOURCES = tests/unit/test-dkim-canon.c
tests_unit_test_dkim_canon_LDADD = $(SM_LIBS)
tests_unit_test_dkim_SOURCES = tests/unit/test-dkim.c \
	tests/unit/dkim-vectors.h tests/unit/dkim-testutil.h
tests_unit_test_dkim_LDADD = $(SM_LIBS)
tests_unit_test_dkim_sign_SOURCES = tests/unit/test-dkim-sign.c \
	tests/unit/dkim-testutil.h
tests_unit_test_dkim_sign_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-dkim-parse tests/unit/test-dkim-canon \
	tests/unit/test-dkim tests/unit/test-dkim-sign

check_PROGRAMS += tests/tools/dkimtool
tests_tools_dkimtool_SOURCES = tests/tools/dkimtool.c
tests_tools_dkimtool_LDADD = $(SM_LIBS)
