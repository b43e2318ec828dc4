# imapd/local.mk - file lists of imapd/ (see HACKING.md)

libsealmail_a_SOURCES += common/pam.c common/pam.h

check_PROGRAMS += tests/unit/test-imap-parser
tests_unit_test_imap_parser_SOURCES = tests/unit/test-imap-parser.c \
	imapd/parser.c imapd/seqset.c imapd/parser.h
tests_unit_test_imap_parser_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-imap-parser

check_PROGRAMS += tests/unit/test-imap-mailbox
tests_unit_test_imap_mailbox_SOURCES = tests/unit/test-imap-mailbox.c \
	imapd/mailbox.c imapd/rescan.c imapd/mailbox.h imapd/message.c \
	imapd/folders.c \
	imapd/index.c imapd/index.h
tests_unit_test_imap_mailbox_SOURCES += imapd/expunged.c
tests_unit_test_imap_mailbox_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-imap-mailbox

pkglibexec_PROGRAMS += imapd/imapd
imapd_imapd_SOURCES = imapd/imapd.c imapd/imapd.h imapd/parent.c \
	imapd/prelogin.c imapd/client.c imapd/commands.c imapd/cmd-any.c \
	imapd/cmd-mailbox.c imapd/cmd-select.c imapd/cmd-fetch.c \
	imapd/cmd-search.c imapd/bodystructure.c imapd/compress.c \
	imapd/strings.c imapd/cmd-sort.c imapd/searchres.c imapd/esearch.c \
	imapd/sortkey.c imapd/thread.c imapd/sort.h \
	imapd/flags.c \
	imapd/cmd-list.c imapd/cmd-append.c imapd/quota.c \
	imapd/parser.c imapd/seqset.c imapd/parser.h imapd/mailbox.c \
	imapd/rescan.c imapd/mailbox.h \
	imapd/message.c imapd/folders.c \
	imapd/index.c imapd/index.h
imapd_imapd_SOURCES += imapd/expunged.c imapd/qresync.c imapd/qresync.h \
	imapd/condstore.c
# -lcrypt: PAM modules (pam_userdb) call crypt_r; loading libcrypt at
# startup lets the sanitizer runtime find the real crypt_r it intercepts.
imapd_imapd_LDADD = $(SM_LIBS) $(PAM_LIBS) -lcrypt

check_PROGRAMS += tests/unit/test-imap-fetch
tests_unit_test_imap_fetch_SOURCES = tests/unit/test-imap-fetch.c \
	imapd/bodystructure.c imapd/strings.c
tests_unit_test_imap_fetch_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-imap-fetch

check_PROGRAMS += tests/unit/test-imap-sort
tests_unit_test_imap_sort_SOURCES = tests/unit/test-imap-sort.c \
	imapd/sortkey.c imapd/sort.h
tests_unit_test_imap_sort_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-imap-sort

check_PROGRAMS += tests/unit/test-imap-thread
tests_unit_test_imap_thread_SOURCES = tests/unit/test-imap-thread.c \
	imapd/thread.c imapd/sort.h
tests_unit_test_imap_thread_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-imap-thread

check_PROGRAMS += tests/unit/test-imap-expunged
tests_unit_test_imap_expunged_SOURCES = tests/unit/test-imap-expunged.c \
	imapd/mailbox.c imapd/rescan.c imapd/mailbox.h imapd/message.c \
	imapd/folders.c \
	imapd/index.c imapd/index.h imapd/expunged.c
tests_unit_test_imap_expunged_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-imap-expunged

check_PROGRAMS += tests/unit/test-imap-condstore
tests_unit_test_imap_condstore_SOURCES = tests/unit/test-imap-condstore.c \
	imapd/condstore.c
tests_unit_test_imap_condstore_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-imap-condstore
