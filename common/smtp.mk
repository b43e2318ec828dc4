# common/smtp.mk - TLS, the ESMTP server engine (with its LMTP mode) and
# the client side of SMTP/LMTP (see HACKING.md)
libsealmail_a_SOURCES += \
	common/tls.c common/tls.h \
	common/smtp.c common/smtp.h common/smtp_int.h \
	common/smtp_cmd.c common/smtp_data.c common/smtp_parse.c \
	common/smtp_client.c common/smtp_client.h common/smtp_client_tls.c

check_PROGRAMS += tests/unit/test-tls tests/unit/test-smtp-parse \
	tests/unit/test-smtp tests/unit/test-smtp-deadline tests/unit/test-lmtp \
	tests/unit/test-smtp-client
tests_unit_test_tls_SOURCES = tests/unit/test-tls.c
tests_unit_test_tls_LDADD = $(SM_LIBS)
tests_unit_test_smtp_parse_SOURCES = tests/unit/test-smtp-parse.c
tests_unit_test_smtp_parse_LDADD = $(SM_LIBS)
tests_unit_test_smtp_SOURCES = tests/unit/test-smtp.c \
	tests/unit/smtp-testutil.h
tests_unit_test_smtp_LDADD = $(SM_LIBS)
tests_unit_test_smtp_deadline_SOURCES = tests/unit/test-smtp-deadline.c \
	tests/unit/smtp-testutil.h
tests_unit_test_smtp_deadline_LDADD = $(SM_LIBS)
tests_unit_test_lmtp_SOURCES = tests/unit/test-lmtp.c \
	tests/unit/smtp-testutil.h
tests_unit_test_lmtp_LDADD = $(SM_LIBS)
tests_unit_test_smtp_client_SOURCES = tests/unit/test-smtp-client.c
tests_unit_test_smtp_client_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-tls tests/unit/test-smtp-parse tests/unit/test-smtp \
	tests/unit/test-smtp-deadline tests/unit/test-lmtp \
	tests/unit/test-smtp-client
EXTRA_DIST += tests/fuzz/fuzz-smtp.c tests/fuzz/fuzz-session.c \
	tests/fuzz/fuzz-smtp-client.c
