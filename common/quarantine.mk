# common/quarantine.mk - the quarantine of stripped originals (see HACKING.md)
libsealmail_a_SOURCES += common/quarantine.c common/quarantine.h

check_PROGRAMS += tests/unit/test-quarantine
tests_unit_test_quarantine_SOURCES = tests/unit/test-quarantine.c
tests_unit_test_quarantine_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-quarantine
