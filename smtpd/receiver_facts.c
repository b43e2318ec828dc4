/*
 * receiver_facts.c - what smtpd.receiver writes into a message and
 * learns about a session for the verdict: our Received field, the hop
 * count, the client's address for SPF and the session's TLS (client
 * certificate included).  Declared in smtpd.h.
 *
 * Runs in smtpd.receiver ([global] user, chrooted).  count_hops() reads
 * the message the client sent, bounded to its first 256 KB.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "smtp.h"
#include "smtpd.h"
#include "verdict.h"

/*
 * Our Received field at the top of the message in fd (RFC 5321 4.4):
 * "from <helo> (<peer>) by <hostname> (Sealmail) with ESMTP[S]", the TLS
 * version and cipher, "id <qid>", "for <rcpt>" when there is one.
 */
void
received_header(int fd, struct smtp_session *s, const char *peer,
    const char *hostname, const char *qid, const char *rcpt)
{
	char			 proto[32], cipher[96], date[64];
	time_t			 now = time(NULL);
	struct tm		 tm;
	int			 tls;
	FILE			*f;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	tls = smtp_tls_info(s, proto, sizeof(proto), cipher,
	    sizeof(cipher)) == 0;
	if ((f = fdopen(dup(fd), "w")) == NULL)
		return;
	fprintf(f, "Received: from %s (%s)\r\n\tby %s (Sealmail) with %s",
	    smtp_helo_name(s), peer, hostname,
	    smtp_is_esmtp(s) ? (tls ? "ESMTPS" : "ESMTP") : "SMTP");
	if (tls)
		fprintf(f, "\r\n\t(version=%s cipher=%s)", proto, cipher);
	fprintf(f, "\r\n\tid %s", qid);
	if (rcpt != NULL)
		fprintf(f, "\r\n\tfor <%s>", rcpt);
	fprintf(f, "; %s\r\n", date);
	fclose(f);
}

/*
 * Received: lines in the header section (ours included), to stop mail
 * loops (RFC 5321 6.3).  Reads at most the first 256 KB of the memfd.
 */
int
count_hops(int fd)
{
	char	 b[8192], head[9];
	ssize_t	 n;
	off_t	 off = 0;
	size_t	 i, col = 0;
	int	 hops = 0;

	while (off < 256 * 1024 && (n = pread(fd, b, sizeof(b), off)) > 0) {
		off += n;
		for (i = 0; i < (size_t)n; i++) {
			if (b[i] != '\n') {
				if (col < sizeof(head))
					head[col] = b[i];
				col++;
				continue;
			}
			if (col == 0 || (col == 1 && head[0] == '\r'))
				return hops;		/* the empty line */
			if (col >= sizeof(head) &&
			    strncasecmp(head, "received:", sizeof(head)) == 0)
				hops++;
			col = 0;
		}
	}
	return hops;
}

/* What the session tells about its TLS, for the verdict. */
void
tls_facts(struct smtp_session *s, struct verdict_tls *t)
{
	memset(t, 0, sizeof(*t));
	t->on = smtp_tls_info(s, t->version, sizeof(t->version), t->cipher,
	    sizeof(t->cipher)) == 0;
	if (t->on)
		t->client_cert = smtp_tls_client_cert(s, t->client_subject,
		    sizeof(t->client_subject), &t->client_verified);
}

/* The client's address as SPF sees it: IPv4-mapped IPv6 is IPv4. */
int
client_addr(const struct sockaddr_storage *ss, struct dns_addr *a)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		a->af = AF_INET;
		a->u.v4 = ((const struct sockaddr_in *)ss)->sin_addr;
		return 0;
	}
	if (ss->ss_family != AF_INET6)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		a->af = AF_INET;
		memcpy(&a->u.v4, &s6->sin6_addr.s6_addr[12], 4);
	} else {
		a->af = AF_INET6;
		a->u.v6 = s6->sin6_addr;
	}
	return 0;
}
