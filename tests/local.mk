# tests/local.mk - unit tests; each is one program, run by "make check".
EXTRA_DIST += tests/unit/test.h
check_PROGRAMS += tests/unit/test-buf
tests_unit_test_buf_SOURCES = tests/unit/test-buf.c
tests_unit_test_buf_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-buf
