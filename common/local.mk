# common/local.mk - libsealmail, the code two or more programs share.
libsealmail_a_SOURCES += \
	common/log.c common/log.h \
	common/xmalloc.c common/xmalloc.h \
	common/buf.c common/buf.h
