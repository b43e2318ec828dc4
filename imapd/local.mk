# imapd/local.mk - file lists of imapd/ (see HACKING.md)

libsealmail_a_SOURCES += common/pam.c common/pam.h

check_PROGRAMS += tests/unit/test-imap-parser
tests_unit_test_imap_parser_SOURCES = tests/unit/test-imap-parser.c \
	imapd/parser.c imapd/parser.h
tests_unit_test_imap_parser_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-imap-parser

check_PROGRAMS += tests/unit/test-imap-mailbox
tests_unit_test_imap_mailbox_SOURCES = tests/unit/test-imap-mailbox.c \
	imapd/mailbox.c imapd/mailbox.h imapd/index.c imapd/index.h
tests_unit_test_imap_mailbox_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-imap-mailbox
