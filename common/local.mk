# common/local.mk - libsealmail, the code two or more programs share.
libsealmail_a_SOURCES += \
	common/log.c common/log.h \
	common/xmalloc.c common/xmalloc.h \
	common/buf.c common/buf.h
libsealmail_a_SOURCES += \
	common/config.c common/config.h common/config_int.h \
	common/config_parse.c common/config_value.c \
	common/ipc.c common/ipc.h \
	common/net.c common/net.h \
	common/privsep.c common/privsep.h \
	common/daemon.c common/daemon.h \
	common/io.c common/io.h \
	common/respawn.c common/respawn.h \
	common/authfail.c common/authfail.h \
	common/pamworker.c common/pamworker.h

check_PROGRAMS += tests/unit/test-authfail
tests_unit_test_authfail_SOURCES = tests/unit/test-authfail.c
tests_unit_test_authfail_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-authfail

check_PROGRAMS += tests/unit/test-pamworker
tests_unit_test_pamworker_SOURCES = tests/unit/test-pamworker.c
tests_unit_test_pamworker_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-pamworker

include $(srcdir)/common/dns.mk
include $(srcdir)/common/spf.mk
include $(srcdir)/common/dmarc.mk
include $(srcdir)/common/dkim.mk
include $(srcdir)/common/maildir.mk
include $(srcdir)/common/ks_client.mk
include $(srcdir)/common/ks_lookup.mk
include $(srcdir)/common/registry.mk
