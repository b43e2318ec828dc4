/*
 * test-imap-thread.c - THREAD=REFERENCES and THREAD=ORDEREDSUBJECT
 * (imapd/thread.c) on messages given as Message-ID, parents, base
 * subject and date: the cases of imaptest's thread groups, loops,
 * duplicate IDs, subject merging, and threads as deep as the mailbox is
 * long; and the Message-ID lists read from header values.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"
#include "../../imapd/sort.h"
#include "test.h"

struct tm_spec {
	const char	*msgid;		/* NULL: none */
	const char	*refs;		/* space separated, or NULL */
	const char	*subject;	/* base subject */
	int		 reply;
	int64_t		 date;
};

#define MAXM	16

static const struct {
	const char	*name;
	int		 refs;		/* REFERENCES, else ORDEREDSUBJECT */
	struct tm_spec	 m[MAXM];
	const char	*want;
} cases[] = {
	{ "a later message's parent that would make a loop is not taken", 1,
	  { { "a@b", NULL, "", 0, 1706 }, { "b@b", "a@b c@b", "", 0, 1506 },
	    { "c@b", "b@b", "", 0, 1606 } }, "(3 2)(1)" },
	{ "a missing parent leaves no empty dummy", 1,
	  { { "b@b", "a@b c@b", "", 0, 1506 },
	    { "c@b", "b@b", "", 0, 1606 } }, "(2 1)" },
	{ "duplicate Message-IDs are two messages", 1,
	  { { "a@b", NULL, "", 0, 1 }, { "a@b", NULL, "", 0, 1 } },
	  "(1)(2)" },
	{ "a duplicate with a reply subject joins by subject", 1,
	  { { "a@b", NULL, "FOO", 0, 1 }, { "a@b", NULL, "FOO", 1, 2 } },
	  "(1 2)" },
	{ "a root dummy with one child gives way to it", 1,
	  { { "a@b", NULL, "FOO", 0, 1 }, { "b@b", "c@b", "FOO", 1, 2 } },
	  "(1 2)" },
	{ "children sort by date, then by number", 1,
	  { { "1@b", NULL, "", 0, 1706 }, { "2@b", "1@b", "", 0, 1506 },
	    { "3@b", "1@b", "", 0, 1506 }, { "4@b", "2@b", "", 0, 1506 } },
	  "(1 (2 4)(3))" },
	{ "a root dummy with two children stays", 1,
	  { { NULL, "a@b", "", 0, 1 }, { NULL, "a@b", "", 0, 2 } },
	  "((1)(2))" },
	{ "a duplicate of a message with children hangs alone", 1,
	  { { "a@b", NULL, "", 0, 1 }, { "b@b", "a@b", "", 0, 1 },
	    { "c@b", "b@b", "", 0, 1 }, { "b@b", "a@b", "", 0, 1 } },
	  "(1 (2 3)(4))" },
	{ "two originals with one subject get a dummy parent", 1,
	  { { "a@b", NULL, "X", 0, 1 }, { "b@b", NULL, "X", 0, 2 } },
	  "((1)(2))" },
	{ "two dummies with one subject become one", 1,
	  { { "1@b", "p@b", "S", 1, 1 }, { "2@b", "p@b", "S", 1, 2 },
	    { "3@b", "q@b", "S", 1, 3 }, { "4@b", "q@b", "S", 1, 4 } },
	  "((1)(2)(3)(4))" },
	{ "a reply joins the original of its subject", 1,
	  { { "1@b", NULL, "S", 1, 1 }, { "2@b", NULL, "S", 0, 2 },
	    { "3@b", NULL, "T", 0, 3 } }, "(2 1)(3)" },
	{ "a self reference is ignored", 1,
	  { { "a@b", "a@b", "", 0, 1 } }, "(1)" },
	{ "references through messages we do not have", 1,
	  { { "a@b", NULL, "", 0, 1 }, { "d@b", "a@b x@b y@b", "", 0, 2 } },
	  "(1 2)" },
	{ "a root dummy's only child is one root, not two", 1,
	  { { "m1@x", "x@y a@b", "", 0, 2 }, { "a@b", "x@y d@b", "", 0, 1 } },
	  "(2 1)" },
	{ "nothing", 1, { { NULL, NULL, NULL, 0, 0 } }, "" },
	{ "ordered subject: imaptest's thread-orderedsubject", 0,
	  { { NULL, NULL, "A", 0, 0 }, { NULL, NULL, "C", 0, 0 },
	    { NULL, NULL, "B", 0, 0 }, { NULL, NULL, "_", 0, 0 },
	    { NULL, NULL, "B", 1, 0 }, { NULL, NULL, "B (A)", 0, 0 },
	    { NULL, NULL, "C", 1, 0 }, { NULL, NULL, "[XYZ]", 0, 0 },
	    { NULL, NULL, "", 0, 0 }, { NULL, NULL, "", 0, 0 },
	    { NULL, NULL, "B", 1, 0 }, { NULL, NULL, "C", 1, 0 },
	    { NULL, NULL, "C", 1, 0 },
	    { NULL, NULL, "AD: RE: AD: RE: AD: X", 0, 0 },
	    { NULL, NULL, "BABYLON", 1, 0 } },
	  "(1)(2 (7)(12)(13))(3 (5)(11))(4)(6)(8)(9 10)(14)(15)" },
	{ "ordered subject: by date, threads by their first", 0,
	  { { NULL, NULL, "A", 0, 10 }, { NULL, NULL, "B", 0, 9 },
	    { NULL, NULL, "A", 0, 8 }, { NULL, NULL, "B", 0, 7 },
	    { NULL, NULL, "A", 0, 30 }, { NULL, NULL, "B", 0, 29 },
	    { NULL, NULL, "A", 0, 28 }, { NULL, NULL, "B", 0, 27 } },
	  "(4 (2)(8)(6))(3 (1)(7)(5))" },
};

/* "a@b c@d" as a References value: "<a@b> <c@d>". */
static size_t
refs_of(const char *spec, char ***ids)
{
	struct buf	 b;
	const char	*p;
	size_t		 n;

	buf_init(&b, 0);
	buf_addc(&b, '<');
	for (p = spec; *p != '\0'; p++) {
		if (*p == ' ')
			buf_addstr(&b, "> <");
		else
			buf_addc(&b, *p);
	}
	buf_addc(&b, '>');
	n = imap_msgid_list(b.data, b.len, THREAD_MAX_REFS, ids);
	buf_free(&b);
	return n;
}

static size_t
build(const struct tm_spec *spec, struct thread_msg *v)
{
	size_t	 n;

	for (n = 0; n < MAXM && spec[n].subject != NULL; n++) {
		memset(&v[n], 0, sizeof(v[n]));
		v[n].id = (uint32_t)n + 1;
		v[n].date = spec[n].date;
		v[n].msgid = spec[n].msgid ? xstrdup(spec[n].msgid) : NULL;
		if (spec[n].refs != NULL)
			v[n].nrefs = refs_of(spec[n].refs, &v[n].refs);
		v[n].subject = xstrdup(spec[n].subject);
		v[n].reply = spec[n].reply;
	}
	return n;
}

static void
test_cases(void)
{
	struct thread_msg v[MAXM];
	struct buf	 b;
	size_t		 i, j, n;

	buf_init(&b, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_begin(cases[i].name);
		n = build(cases[i].m, v);
		buf_reset(&b);
		if (cases[i].refs)
			imap_thread_references(v, n, &b);
		else
			imap_thread_orderedsubject(v, n, &b);
		test_assert_str(buf_cstr(&b), cases[i].want);
		for (j = 0; j < n; j++)
			imap_thread_msg_free(&v[j]);
		test_end();
	}
	buf_free(&b);
}

/* Parentheses balance and every number 1..n appears once. */
static int
well_formed(const char *s, size_t n)
{
	char	*seen = xcalloc(n + 1, 1);
	long	 depth = 0, v;
	size_t	 count = 0;
	int	 ok = 1;

	while (*s != '\0' && ok) {
		if (*s == '(')
			depth++;
		else if (*s == ')')
			ok = --depth >= 0;
		else if (*s >= '0' && *s <= '9') {
			v = strtol(s, (char **)&s, 10);
			ok = v >= 1 && (size_t)v <= n && !seen[v];
			if (ok)
				seen[v] = 1;
			count++;
			continue;
		}
		s++;
	}
	free(seen);
	return ok && depth == 0 && count == n;
}

static void
test_deep(void)
{
	enum { N = 100000 };
	struct thread_msg *v;
	struct buf	 b;
	char		 id[32];
	size_t		 i;

	test_begin("a chain and a binary tree as deep as the mailbox is "
	    "long: no recursion");
	v = xcalloc(N, sizeof(*v));
	for (i = 0; i < N; i++) {
		v[i].id = (uint32_t)i + 1;
		v[i].date = (int64_t)i;
		snprintf(id, sizeof(id), "m%zu@x", i);
		v[i].msgid = xstrdup(id);
		v[i].subject = xstrdup("");
		if (i > 0) {
			/* a chain, and with the odd ones a second child */
			snprintf(id, sizeof(id), "<m%zu@x>",
			    i % 2 ? i - 1 : (i > 1 ? i - 2 : 0));
			v[i].nrefs = imap_msgid_list(id, strlen(id), 1,
			    &v[i].refs);
		}
	}
	buf_init(&b, 0);
	imap_thread_references(v, N, &b);
	test_assert(strncmp(buf_cstr(&b), "(1 (2)(3 (4)(5 (6)(7 ", 21) == 0);
	test_assert(well_formed(buf_cstr(&b), N));
	buf_reset(&b);
	imap_thread_orderedsubject(v, N, &b);
	test_assert(well_formed(buf_cstr(&b), N));
	for (i = 0; i < N; i++)
		imap_thread_msg_free(&v[i]);
	free(v);
	buf_free(&b);
	test_end();
}

static void
test_msgid_lists(void)
{
	const char	*refs = "<a@b> junk <no-at> (c) <c@d>\r\n <e @f>";
	char		**ids, *id;
	size_t		 n, i;

	test_begin("message IDs: brackets, '@', whitespace, the last ones "
	    "kept");
	n = imap_msgid_list(refs, strlen(refs), 16, &ids);
	test_assert(n == 3);
	if (n == 3) {
		test_assert_str(ids[0], "a@b");
		test_assert_str(ids[1], "c@d");
		test_assert_str(ids[2], "e@f");
	}
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	n = imap_msgid_list(refs, strlen(refs), 2, &ids);
	test_assert(n == 2 && strcmp(ids[0], "c@d") == 0);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	id = imap_msgid_first("x <@b> <a@b> <c@d>", 18);
	test_assert_str(id, "a@b");
	free(id);
	test_assert(imap_msgid_first("<a@b", 4) == NULL);
	test_assert(imap_msgid_first("<a@b>", 4) == NULL);
	test_end();
}

int
main(void)
{
	static void (*tests[])(void) = {
		test_cases,
		test_deep,
		test_msgid_lists,
		NULL
	};

	return test_run(tests);
}
