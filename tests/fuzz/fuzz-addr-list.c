/*
 * fuzz-addr-list.c - libFuzzer target for the RFC 5322 half of the
 * address grammar (common/addr_list.c), which reads From:/Sender: in
 * submitd and every address field for imapd's ENVELOPE and SEARCH.  For
 * each mode (strict, lenient, with and without the trailing-comment
 * name) any bytes give a list or an error, never a crash, and whatever
 * parses survives its canonical form: parse(format(x)) is x, item by
 * item, and formats to the same text again.  A mailbox that passes the
 * header check is also a path mailbox (addr_check), one rule for both.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define ITEMS	64

static int
same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static void
check_mailboxes(const struct addr_list *l)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b, 0);
	for (i = 0; i < l->n; i++) {
		if (l->v[i].name != NULL) {
			buf_reset(&b);
			addr_name_decode(l->v[i].name, &b);
		}
		if (l->v[i].kind != ADDR_MAILBOX ||
		    addr_header_check(&l->v[i], NULL, 0) != 0)
			continue;
		buf_reset(&b);
		addr_spec_format(&l->v[i], &b);
		if (b.len > ADDR_MAX ||
		    addr_check(buf_cstr(&b), ADDR_UTF8, NULL, 0) != 0)
			__builtin_trap();
	}
	buf_free(&b);
}

static void
roundtrip(const uint8_t *data, size_t len, int flags)
{
	struct addr_list l, l2;
	struct buf	 f1, f2;
	size_t		 i;

	if (addr_list_parse((const char *)data, len, flags, ITEMS, &l, NULL,
	    0) != 0) {
		if (l.n != 0 || l.v != NULL)
			__builtin_trap();
		return;
	}
	check_mailboxes(&l);
	buf_init(&f1, 0);
	buf_init(&f2, 0);
	addr_list_format(&l, &f1);
	if (addr_list_parse(f1.data != NULL ? f1.data : "", f1.len, flags,
	    ITEMS, &l2, NULL, 0) != 0 || l2.n != l.n)
		__builtin_trap();
	for (i = 0; i < l.n; i++)
		if (l.v[i].kind != l2.v[i].kind ||
		    !same(l.v[i].name, l2.v[i].name) ||
		    !same(l.v[i].route, l2.v[i].route) ||
		    !same(l.v[i].local, l2.v[i].local) ||
		    !same(l.v[i].domain, l2.v[i].domain))
			__builtin_trap();
	addr_list_format(&l2, &f2);
	if (f1.len != f2.len || (f1.len > 0 &&
	    memcmp(f1.data, f2.data, f1.len) != 0))
		__builtin_trap();
	buf_free(&f1);
	buf_free(&f2);
	addr_list_free(&l);
	addr_list_free(&l2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	roundtrip(data, len, 0);
	roundtrip(data, len, ADDR_LIST_COMMENT_NAME);
	roundtrip(data, len, ADDR_LIST_LENIENT);
	roundtrip(data, len, ADDR_LIST_LENIENT | ADDR_LIST_COMMENT_NAME);
	return 0;
}
