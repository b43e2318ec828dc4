# common/maildir.mk - Maildir and Maildir++ folders without following links
# (see common/maildir.h); included from common/local.mk.
libsealmail_a_SOURCES += common/maildir.c common/maildir.h

check_PROGRAMS += tests/unit/test-maildir
tests_unit_test_maildir_SOURCES = tests/unit/test-maildir.c
tests_unit_test_maildir_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-maildir
