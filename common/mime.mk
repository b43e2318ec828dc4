# common/mime.mk - the MIME parser and codecs (see HACKING.md), and the
# text primitives they and other programs stand on: UTF-8 and base64.
libsealmail_a_SOURCES += common/mime.c common/mime.h common/mime_int.h \
	common/mime_header.c common/mime_param.c common/mime_codec.c \
	common/mime_measure.c \
	common/utf8.c common/utf8.h common/base64.c common/base64.h

check_PROGRAMS += tests/unit/test-mime tests/unit/test-utf8 \
	tests/unit/test-base64 tests/unit/test-mime-measure
tests_unit_test_mime_SOURCES = tests/unit/test-mime.c
tests_unit_test_mime_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-mime
tests_unit_test_mime_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSM_TOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_utf8_SOURCES = tests/unit/test-utf8.c
tests_unit_test_utf8_LDADD = $(SM_LIBS)
tests_unit_test_base64_SOURCES = tests/unit/test-base64.c
tests_unit_test_base64_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-utf8 tests/unit/test-base64
tests_unit_test_mime_measure_SOURCES = tests/unit/test-mime-measure.c
tests_unit_test_mime_measure_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-mime-measure
