# imapd/local.mk - file lists of imapd/ (see HACKING.md)

libsealmail_a_SOURCES += common/pam.c common/pam.h

check_PROGRAMS += tests/unit/test-imap-parser
tests_unit_test_imap_parser_SOURCES = tests/unit/test-imap-parser.c \
	imapd/parser.c imapd/parser.h
tests_unit_test_imap_parser_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-imap-parser
