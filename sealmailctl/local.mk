# sealmailctl/local.mk - file lists of sealmailctl/ (see HACKING.md)
sbin_PROGRAMS += sealmailctl/sealmailctl
sealmailctl_sealmailctl_SOURCES = \
	sealmailctl/sealmailctl.c sealmailctl/ctl.h \
	sealmailctl/users.c \
	sealmailctl/keys.c $(KS_DB_SOURCES) \
	sealmailctl/service.c \
	sealmailctl/quarantine.c \
	sealmailctl/queue.c \
	sealmailctl/registry.c \
	sealmailctl/trace.c
sealmailctl_sealmailctl_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/keystore
sealmailctl_sealmailctl_LDADD = $(SM_LIBS) -lcrypt
EXTRA_DIST += tests/integration/test_sealmailctl.py
