# submitd/local.mk - file lists of submitd/ (see HACKING.md)
pkglibexec_PROGRAMS += submitd/submitd
submitd_submitd_SOURCES = submitd/submitd.c submitd/submitd.h \
	submitd/parent.c submitd/parent.h submitd/message.c \
	submitd/peer.c submitd/peer.h \
	submitd/session.c submitd/header_role.c \
	submitd/auth.c submitd/auth.h submitd/header.c submitd/header.h \
	submitd/stamp.c submitd/stamp.h submitd/notify.c submitd/notify.h \
	submitd/queue.c submitd/queue.h
submitd_submitd_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/submitd
submitd_submitd_LDADD = $(SM_LIBS) $(PAM_LIBS)

check_PROGRAMS += tests/unit/test-submit-auth tests/unit/test-submit-header \
	tests/unit/test-submit-stamp tests/unit/test-submit-peer
tests_unit_test_submit_auth_SOURCES = tests/unit/test-submit-auth.c \
	submitd/auth.c submitd/auth.h
tests_unit_test_submit_auth_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/submitd
tests_unit_test_submit_auth_LDADD = $(SM_LIBS)
tests_unit_test_submit_header_SOURCES = tests/unit/test-submit-header.c \
	submitd/header.c submitd/header.h
tests_unit_test_submit_header_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/submitd
tests_unit_test_submit_header_LDADD = $(SM_LIBS)
tests_unit_test_submit_stamp_SOURCES = tests/unit/test-submit-stamp.c \
	submitd/stamp.c submitd/stamp.h
tests_unit_test_submit_stamp_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/submitd
tests_unit_test_submit_stamp_LDADD = $(SM_LIBS)
tests_unit_test_submit_peer_SOURCES = tests/unit/test-submit-peer.c \
	submitd/peer.c submitd/peer.h
tests_unit_test_submit_peer_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/submitd
tests_unit_test_submit_peer_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-submit-auth tests/unit/test-submit-header \
	tests/unit/test-submit-stamp tests/unit/test-submit-peer
EXTRA_DIST += tests/fuzz/fuzz-sasl.c tests/integration/test_submitd.py \
	tests/integration/test_submitd_hardening.py \
	tests/integration/submitd_liar.c
