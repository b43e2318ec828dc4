# common/queue.mk - the queue's shared modules: the hand-off into the
# queue (qhandoff), the envelope file (qenv) and the administrator's view
# (qadmin), used by smtpd, submitd and sealmailctl.
libsealmail_a_SOURCES += \
	common/qhandoff.c common/qhandoff.h \
	common/qenv.c common/qenv.h \
	common/qadmin.c common/qadmin.h

check_PROGRAMS += tests/unit/test-qhandoff
tests_unit_test_qhandoff_SOURCES = tests/unit/test-qhandoff.c
tests_unit_test_qhandoff_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-qhandoff
EXTRA_DIST += tests/fuzz/fuzz-qhandoff.c
