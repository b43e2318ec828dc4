# common/maildir.mk - Maildir and Maildir++ folders without following links
# (see common/maildir.h); included from common/local.mk.
libsealmail_a_SOURCES += common/maildir.c common/maildir.h \
	common/maildirsize.c

check_PROGRAMS += tests/unit/test-maildir
tests_unit_test_maildir_SOURCES = tests/unit/test-maildir.c
tests_unit_test_maildir_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-maildir
check_PROGRAMS += tests/unit/test-maildirsize
tests_unit_test_maildirsize_SOURCES = tests/unit/test-maildirsize.c
tests_unit_test_maildirsize_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-maildirsize
