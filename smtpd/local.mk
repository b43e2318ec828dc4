# smtpd/local.mk - the MTA: receiver, queue, delivery, transmitter (smtpd.h)
pkglibexec_PROGRAMS += smtpd/smtpd
smtpd_smtpd_SOURCES = smtpd/smtpd.c smtpd/smtpd.h smtpd/receiver.c \
	smtpd/receiver_facts.c \
	smtpd/queue.c smtpd/queue.h smtpd/queue_store.c smtpd/sign.c \
	smtpd/dsn.c smtpd/delivery.c smtpd/verify.c smtpd/verify.h \
	smtpd/authres.c smtpd/authres.h smtpd/verdict.c smtpd/verdict.h \
	smtpd/queue_mta.c smtpd/queue_dest.c \
	smtpd/mta.h smtpd/mta.c smtpd/mta_policy.c smtpd/mta_route.c \
	smtpd/mta_session.c smtpd/mta_dane.c smtpd/mta_sts.c smtpd/mta_sts_fetch.c \
	smtpd/registry_ask.c smtpd/registry_ask.h \
	smtpd/callback.h smtpd/callback_table.c smtpd/callback_resp.c \
	smtpd/callback_parent.c smtpd/callback_mta.c smtpd/callback_check.c
smtpd_smtpd_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/smtpd
smtpd_smtpd_LDADD = $(SM_LIBS)

check_PROGRAMS += tests/unit/test-queue
tests_unit_test_queue_SOURCES = tests/unit/test-queue.c smtpd/dsn.c
tests_unit_test_queue_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/smtpd
tests_unit_test_queue_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-queue

check_PROGRAMS += tests/unit/test-authres
tests_unit_test_authres_SOURCES = tests/unit/test-authres.c smtpd/authres.c \
	smtpd/authres.h
tests_unit_test_authres_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/smtpd
tests_unit_test_authres_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-authres

check_PROGRAMS += tests/unit/test-verdict
tests_unit_test_verdict_SOURCES = tests/unit/test-verdict.c smtpd/verdict.c \
	smtpd/verdict.h smtpd/authres.c
tests_unit_test_verdict_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/smtpd
tests_unit_test_verdict_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-verdict

check_PROGRAMS += tests/unit/test-mta
tests_unit_test_mta_SOURCES = tests/unit/test-mta.c smtpd/mta_policy.c \
	smtpd/mta.h
tests_unit_test_mta_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/smtpd
tests_unit_test_mta_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-mta

check_PROGRAMS += tests/unit/test-mta-dane
tests_unit_test_mta_dane_SOURCES = tests/unit/test-mta-dane.c \
	smtpd/mta_dane.c smtpd/mta.h
tests_unit_test_mta_dane_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/smtpd
tests_unit_test_mta_dane_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-mta-dane
check_PROGRAMS += tests/unit/test-queue-dest
tests_unit_test_queue_dest_SOURCES = tests/unit/test-queue-dest.c \
	smtpd/queue_dest.c smtpd/queue.h
tests_unit_test_queue_dest_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/smtpd
tests_unit_test_queue_dest_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-queue-dest
check_PROGRAMS += tests/unit/test-mta-sts
tests_unit_test_mta_sts_SOURCES = tests/unit/test-mta-sts.c smtpd/mta_sts.c \
	smtpd/mta_policy.c smtpd/mta.h
tests_unit_test_mta_sts_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/smtpd
tests_unit_test_mta_sts_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-mta-sts

check_PROGRAMS += tests/unit/test-registry-ask
tests_unit_test_registry_ask_SOURCES = tests/unit/test-registry-ask.c \
	smtpd/registry_ask.c smtpd/registry_ask.h
tests_unit_test_registry_ask_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/smtpd
tests_unit_test_registry_ask_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-registry-ask

check_PROGRAMS += tests/unit/test-callback
tests_unit_test_callback_SOURCES = tests/unit/test-callback.c \
	smtpd/callback_table.c smtpd/callback_parent.c smtpd/callback.h
tests_unit_test_callback_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/smtpd
tests_unit_test_callback_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-callback

# cbkcheck: one callback from the command line, for
# tests/integration/test_callback.py; built by "make check".
check_PROGRAMS += tests/tools/cbkcheck
tests_tools_cbkcheck_SOURCES = tests/tools/cbkcheck.c \
	smtpd/callback_check.c smtpd/callback_table.c smtpd/callback.h
tests_tools_cbkcheck_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/smtpd
tests_tools_cbkcheck_LDADD = $(SM_LIBS)

EXTRA_DIST += tests/fuzz/fuzz-authres.c
