# tests/local.mk - unit tests; each is one program, run by "make check".
EXTRA_DIST += tests/unit/test.h
check_PROGRAMS += tests/unit/test-buf
tests_unit_test_buf_SOURCES = tests/unit/test-buf.c
tests_unit_test_buf_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-buf
check_PROGRAMS += tests/unit/test-config tests/unit/test-ipc \
	tests/unit/test-net
tests_unit_test_config_SOURCES = tests/unit/test-config.c
tests_unit_test_config_LDADD = $(SM_LIBS)
tests_unit_test_ipc_SOURCES = tests/unit/test-ipc.c
tests_unit_test_ipc_LDADD = $(SM_LIBS)
tests_unit_test_net_SOURCES = tests/unit/test-net.c
tests_unit_test_net_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-config tests/unit/test-ipc tests/unit/test-net
check_PROGRAMS += tests/unit/test-privsep
tests_unit_test_privsep_SOURCES = tests/unit/test-privsep.c
tests_unit_test_privsep_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-privsep
check_PROGRAMS += tests/unit/test-log
tests_unit_test_log_SOURCES = tests/unit/test-log.c
tests_unit_test_log_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-log
check_PROGRAMS += tests/unit/test-respawn
tests_unit_test_respawn_SOURCES = tests/unit/test-respawn.c
tests_unit_test_respawn_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-respawn
