/*
 * strip_uu.c - files encoded inside text: uuencode, "begin-base64" and
 * yEnc blocks are shown as attachments by some readers, so they go like
 * attachments.  A line filter over the decoded text; a begin line is held until the
 * next line shows it really starts an encoded block.  Called by
 * strip_write.c on the decoded text of kept parts, in the mda as the mail
 * user; every line is bounded by UU_LINE_MAX.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "strip_int.h"
#include "utf8.h"

static int
uu_octal_mode(const char **p)
{
	const char	*s = *p;
	int		 n = 0;

	while (*s >= '0' && *s <= '7') {
		s++;
		n++;
	}
	if (n < 3 || n > 4 || *s != ' ')
		return 0;
	*p = s + 1;
	return 1;
}

/* A line that opens an encoded file: its kind, or 0. */
static int
uu_begin(const char *t, char *name, size_t namelen)
{
	const char	*p;
	int		 kind = 0;

	if (strncmp(t, "begin ", 6) == 0) {
		p = t + 6;
		kind = 'u';
	} else if (strncmp(t, "begin-base64 ", 13) == 0) {
		p = t + 13;
		kind = 'b';
	} else if (strncmp(t, "=ybegin ", 8) == 0 &&
	    (p = strstr(t, " name=")) != NULL) {
		snprintf(name, namelen, "%s", p + 6);
		return 'y';
	} else
		return 0;
	if (!uu_octal_mode(&p) || *p == '\0')
		return 0;
	snprintf(name, namelen, "%s", p);
	return kind;
}

/* Does t look like a line of the encoding kind? */
static int
uu_body_line(int kind, const char *t)
{
	size_t	 len = strlen(t), want, i;

	if (kind == 'y')
		return len > 0;
	if (kind == 'b') {
		for (i = 0; i < len; i++)
			if (!isalnum((unsigned char)t[i]) &&
			    strchr("+/=", t[i]) == NULL)
				return 0;
		return len > 0;
	}
	if (len < 1 || t[0] < 0x20 || t[0] > 0x60)
		return 0;
	for (i = 0; i < len; i++)
		if (t[i] < 0x20 || t[i] > 0x60)
			return 0;
	want = 1 + ((size_t)((t[0] - 0x20) & 0x3f) + 2) / 3 * 4;
	return len >= want && len <= want + 2;
}

static int
uu_end(int kind, const char *t)
{
	if (kind == 'y')
		return strncmp(t, "=yend", 5) == 0;
	if (kind == 'b')
		return strcmp(t, "====") == 0;
	return strcmp(t, "end") == 0;
}

/* An encoded file was cut out: count it, say so in the text. */
static void
uu_removed(struct uu *u, struct buf *out)
{
	struct strip_ctx *c = u->c;
	struct buf	 name;
	size_t		 i;

	buf_init(&name, 0);
	(void)utf8_sanitize(u->name, strlen(u->name), &name);
	for (i = 0; i < name.len; i++)
		if ((unsigned char)name.data[i] < 32 || name.data[i] == 0x7f)
			name.data[i] = '?';
	buf_printf(out, "[encoded file \"%s\" removed by Sealmail]\r\n",
	    buf_cstr(&name));
	if (c->dry) {
		c->uufound++;
		if (c->uufound <= STRIP_LIST_MAX)
			buf_printf(&c->uunames, "  - \"%s\" (%s in the text)\n",
			    buf_cstr(&name), u->kind == 'y' ? "yEnc" :
			    u->kind == 'b' ? "base64" : "uuencoded");
	}
	buf_free(&name);
}

static void
uu_line(struct uu *u, struct buf *out)
{
	char	 t[UU_LINE_MAX + 1];
	size_t	 n = u->line.len;
	int	 sol = !u->midline, kind;

	u->midline = n > 0 && u->line.data[n - 1] != '\n';
	while (n > 0 && (u->line.data[n - 1] == '\n' ||
	    u->line.data[n - 1] == '\r' || u->line.data[n - 1] == ' ' ||
	    u->line.data[n - 1] == '\t'))
		n--;
	memcpy(t, u->line.data, n);
	t[n] = '\0';
	if (memchr(t, '\0', n) != NULL)
		sol = 0;
	switch (u->state) {
	case UU_TEXT:
		if (sol && (kind = uu_begin(t, u->name, sizeof(u->name)))) {
			u->kind = kind;
			buf_reset(&u->held);
			buf_add(&u->held, u->line.data, u->line.len);
			u->state = UU_HELD;
		} else
			buf_add(out, u->line.data, u->line.len);
		break;
	case UU_HELD:
		if (sol && uu_body_line(u->kind, t)) {
			u->state = UU_IN;
		} else {
			buf_add(out, u->held.data, u->held.len);
			buf_add(out, u->line.data, u->line.len);
			u->state = UU_TEXT;
		}
		break;
	case UU_IN:
		if (sol && uu_end(u->kind, t)) {
			uu_removed(u, out);
			u->state = UU_TEXT;
		}
		break;
	}
	buf_reset(&u->line);
}

void
strip_uu_init(struct uu *u, struct strip_ctx *c)
{
	memset(u, 0, sizeof(*u));
	u->c = c;
	buf_init(&u->line, 0);
	buf_init(&u->held, 0);
}

void
strip_uu_feed(struct uu *u, const char *s, size_t n, struct buf *out)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		buf_addc(&u->line, s[i]);
		if (s[i] == '\n' || u->line.len == UU_LINE_MAX)
			uu_line(u, out);
	}
}

void
strip_uu_finish(struct uu *u, struct buf *out)
{
	if (u->line.len > 0)
		uu_line(u, out);
	if (u->state == UU_HELD)
		buf_add(out, u->held.data, u->held.len);
	else if (u->state == UU_IN)
		uu_removed(u, out);	/* never ended: all of it goes */
	u->state = UU_TEXT;
	buf_free(&u->line);
	buf_free(&u->held);
}
