# common/registry.mk - the registry of trusted transmitters (registry.db,
# its IPC question) and the DNS registry zones (see common/registry.h,
# common/registry_dns.h); included from common/local.mk.
libsealmail_a_SOURCES += common/registry.c common/registry.h \
	common/registry_ipc.c common/registry_dns.c common/registry_dns.h \
	common/registry_dns_name.c

check_PROGRAMS += tests/unit/test-registry
tests_unit_test_registry_SOURCES = tests/unit/test-registry.c
tests_unit_test_registry_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-registry

# regcheck: one DNS registry zone lookup through the real resolver, for
# tests/integration/test_registry.py; built by "make check", never
# installed.
check_PROGRAMS += tests/tools/regcheck
tests_tools_regcheck_SOURCES = tests/tools/regcheck.c
tests_tools_regcheck_LDADD = $(SM_LIBS)

EXTRA_DIST += tests/integration/test_registry.py tests/fuzz/fuzz-registry.c
