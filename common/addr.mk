# common/addr.mk - the address grammar: RFC 5321 paths, RFC 5322 lists
# (see HACKING.md)
libsealmail_a_SOURCES += common/addr.c common/addr.h common/addr_int.h \
	common/addr_list.c

check_PROGRAMS += tests/unit/test-addr
tests_unit_test_addr_SOURCES = tests/unit/test-addr.c
tests_unit_test_addr_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-addr
EXTRA_DIST += tests/fuzz/fuzz-addr.c
