/*
 * The TLS glue of a connection: SSL_read in place of read, file bytes read
 * by pread and sealed from the worker's buffer in place of sendfile, the
 * handshake, and OpenSSL's cross-waits (a read that needs to write). Apart
 * from conn.c so the plain-TCP path reads without the TLS cases between.
 */
#include "server/conn_internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ipc/base/log.h"

/* --- reading ---------------------------------------------------------- */

/* The TLS side of conn_read. Only WANT_READ proves the socket empty: a
 * short SSL_read may leave records in the socket, and no edge would come
 * for them, so readable stays set until OpenSSL asks for more. */
ssize_t
conn_read_tls(struct conn *c, uint32_t space)
{
	size_t n = 0;

	switch (tls_read(c->ssl, c->b->rbuf + c->rlen, space, &n)) {
	case TLS_IO_OK:
		c->cx->stats.bytes_in += (uint64_t)n;
		c->rlen += (uint32_t)n;
		return (ssize_t)n;
	case TLS_IO_WANT_WRITE:
		c->tls_rw = 1;
		/* FALLTHROUGH */
	case TLS_IO_WANT_READ:
		c->readable = 0;
		return -1;
	case TLS_IO_EOF:
		c->eof = 1;
		c->readable = 0;
		return 0;
	default:
		c->readable = 0;
		return -2;
	}
}

/* --- sending ---------------------------------------------------------- */

/* Copies up to len bytes of file segment s, from off, into buf. Returns
 * the bytes copied; 0 with errno when the file shrank or failed. */
static size_t
conn_pread(const struct reply *r, const struct reply_seg *s, uint64_t off,
    char *buf, size_t len)
{
	ssize_t n;

	if (len > s->len - off)
		len = (size_t)(s->len - off);
	do
		n = pread(r->fd, buf, len, (off_t)(s->off + off));
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		errno = n == 0 ? EPIPE : errno;
		return 0;
	}
	return (size_t)n;
}

/* Gathers up to CONN_TLS_BUF bytes of head and body from the send cursor
 * into buf (file bytes by pread: sendfile cannot encrypt). Returns the
 * length, 0 with errno when the file failed first. */
static size_t
conn_tls_fill(struct conn *c, char *buf)
{
	struct reply *r = &c->b->reply;
	size_t len = 0, take;
	uint64_t off = c->seg_off;
	int i = c->seg_i;

	if (c->hdr_off < r->hdr_len) {
		len = r->hdr_len - c->hdr_off < CONN_TLS_BUF ? r->hdr_len - c->hdr_off : CONN_TLS_BUF;
		memcpy(buf, r->hdr + c->hdr_off, len);
	}
	for (; i < r->nseg && len < CONN_TLS_BUF; i++, off = 0) {
		const struct reply_seg *sg = &r->seg[i];

		take = sg->len - off < CONN_TLS_BUF - len ? (size_t)(sg->len - off) : CONN_TLS_BUF - len;
		if (sg->p != NULL)
			memcpy(buf + len, sg->p + off, take);
		else if ((take = conn_pread(r, sg, off, buf + len, take)) == 0)
			break;
		else if (off + take < sg->len) {
			len += take;
			break;      /* a short read (or a full buffer) */
		}
		len += take;
	}
	return len;
}

/*
 * Over TLS, all the worker's buffer holds past the cursor per call
 * (tls_write seals it in records and sends them in one write). The buffer
 * keeps what the last fill gathered for its owner, so a large body is
 * read 80 KiB at a time. After WANT_WRITE, OpenSSL holds the sealed record and wants
 * the same bytes offered again: the cursor has not moved, so the cached
 * or regathered bytes are exactly them.
 */
/* Whether the bytes up to end are the last the connection sends: the end
 * of a reply after which it closes (conn_reply_done's test). */
static int
conn_tls_fin(const struct conn *c, uint64_t end)
{
	const struct reply *r = &c->b->reply;
	uint64_t total = r->hdr_len;

	if (!r->close && !c->cx->stopping)
		return 0;
	for (int i = 0; i < r->nseg; i++)
		total += r->seg[i].len;
	return end == total;
}

ssize_t
conn_send_tls(struct conn *c, size_t *want)
{
	struct conn_ctx *cx = c->cx;
	uint64_t pos = c->hdr_off + c->body_sent;
	size_t n = 0, len;
	int fin;

	if (cx->tls_owner != c || pos < cx->tls_pos || pos >= cx->tls_pos + cx->tls_len) {
		cx->tls_owner = NULL;
		if ((len = conn_tls_fill(c, cx->tls_buf)) == 0)
			return -1;
		cx->tls_owner = c;
		cx->tls_pos = pos;
		cx->tls_len = len;
	}
	len = (size_t)(cx->tls_pos + cx->tls_len - pos);
	*want = len;
	fin = conn_tls_fin(c, pos + len);
	switch (tls_write(c->ssl, cx->tls_buf + (pos - cx->tls_pos), *want, &n, fin)) {
	case TLS_IO_OK:
		return (ssize_t)n;
	case TLS_IO_WANT_READ:
		c->tls_wr = 1;
		/* FALLTHROUGH */
	case TLS_IO_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	default:
		errno = EPIPE;
		return -1;
	}
}

/* --- handshake -------------------------------------------------------- */

/* Advances the TLS handshake; the header timeout set at accept bounds it. */
static enum step
conn_handshake(struct conn *c)
{
	struct conn_ctx *cx = c->cx;
	const char *why = "";
	int resumed = 0;
	enum tls_io io;

	switch (tls_handshake(c->ssl, &resumed, &why)) {
	case TLS_IO_OK:
		c->tls_hs = 0;
		cx->stats.tls_handshakes++;
		if (resumed)
			cx->stats.tls_resumed++;
		/* The ticket is held for the first reply, or for the read that
		 * finds no request yet; without a read to come, it goes now. A
		 * full socket: the read that follows EPOLLOUT sends it. */
		if (!c->readable && !c->eof && (io = tls_flush(c->ssl)) != TLS_IO_OK) {
			if (io != TLS_IO_WANT_WRITE)
				return STEP_CLOSE;
			c->tls_rw = 1;
		}
		return STEP_DONE;
	case TLS_IO_WANT_READ:
		c->readable = 0;
		c->tls_hs_rd = 1;
		return STEP_AGAIN;
	case TLS_IO_WANT_WRITE:
		c->writable = 0;
		c->tls_hs_rd = 0;
		return STEP_AGAIN;
	default:
		log_debug("connection %d: TLS handshake: %s", c->io.fd, why);
		return STEP_CLOSE;
	}
}

/* Whether a TLS connection may go on to HTTP: its handshake is done, or
 * runs now once any PROXY header is in (that header comes before the
 * first TLS byte). 0 when it waits for the client or was closed. */
int
conn_tls_ready(struct conn *c)
{
	enum step s;

	if (!c->tls_hs || c->state == CONN_PROXY)
		return 1;
	/* The EPOLLOUT edge that registration reports, say, cannot help a
	 * handshake waiting for the client's next flight. */
	if (c->tls_hs_rd && !c->readable)
		return 0;
	if ((s = conn_handshake(c)) == STEP_DONE)
		return 1;
	if (s == STEP_CLOSE)
		conn_close(c, "TLS handshake failed");
	return 0;
}
