# common/mime.mk - the MIME parser and codecs (see HACKING.md)
libsealmail_a_SOURCES += common/mime.c common/mime.h

check_PROGRAMS += tests/unit/test-mime
tests_unit_test_mime_SOURCES = tests/unit/test-mime.c
tests_unit_test_mime_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-mime
tests_unit_test_mime_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSM_TOP_SRCDIR='"$(abs_top_srcdir)"'
