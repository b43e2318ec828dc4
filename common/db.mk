# common/db.mk - Berkeley DB environment, user database and the pam_userdb
# password file (see HACKING.md).
libsealmail_a_SOURCES += \
	common/db.c common/db.h \
	common/userdb.c common/userdb.h common/userdb_int.h \
	common/userdb_settings.c common/userdb_alias.c \
	common/userdb_sendlog.c common/trace.c common/trace.h \
	common/passwd.c common/passwd.h

check_PROGRAMS += tests/unit/test-db tests/unit/test-userdb \
	tests/unit/test-passwd tests/unit/test-trace
tests_unit_test_trace_SOURCES = tests/unit/test-trace.c
tests_unit_test_trace_LDADD = $(SM_LIBS)
tests_unit_test_db_SOURCES = tests/unit/test-db.c
tests_unit_test_db_LDADD = $(SM_LIBS)
tests_unit_test_userdb_SOURCES = tests/unit/test-userdb.c
tests_unit_test_userdb_LDADD = $(SM_LIBS)
tests_unit_test_passwd_SOURCES = tests/unit/test-passwd.c
tests_unit_test_passwd_LDADD = $(SM_LIBS) -lcrypt $(PAM_LIBS)
TESTS += tests/unit/test-db tests/unit/test-userdb tests/unit/test-passwd \
	tests/unit/test-trace
