# mda/local.mk - file lists of mda/ (see HACKING.md)
noinst_LIBRARIES += mda/libmdastrip.a
mda_libmdastrip_a_SOURCES = mda/strip.c mda/strip.h mda/strip_int.h \
	mda/strip_policy.c mda/strip_uu.c mda/strip_write.c mda/html.c mda/html.h

check_PROGRAMS += tests/unit/test-strip
tests_unit_test_strip_SOURCES = tests/unit/test-strip.c
tests_unit_test_strip_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/mda \
	-DSM_TOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_strip_LDADD = mda/libmdastrip.a $(SM_LIBS)
TESTS += tests/unit/test-strip

check_PROGRAMS += tests/unit/test-mda-envelope
tests_unit_test_mda_envelope_SOURCES = tests/unit/test-mda-envelope.c \
	mda/envelope.c
tests_unit_test_mda_envelope_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/mda
tests_unit_test_mda_envelope_LDADD = $(SM_LIBS)
TESTS += tests/unit/test-mda-envelope

# The mda program: LMTP server and LDA.
pkglibexec_PROGRAMS += mda/mda
mda_mda_SOURCES = mda/mda.c mda/mda.h mda/lmtp.c mda/deliver.c mda/lda.c \
	mda/record.c mda/envelope.c
mda_mda_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/mda
mda_mda_LDADD = mda/libmdastrip.a $(SM_LIBS)
