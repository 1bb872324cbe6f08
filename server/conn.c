#include "server/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ipc/base/log.h"
#include "ipc/stats.h"
#include "server/fdlimit.h"
#include "server/http_parse.h"
#include "server/proxy_proto.h"
#include "server/tls.h"

#define CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define CONN_IOV 16
#define CONN_DISCARD_MAX (1024 * 1024) /* a GET body larger than this: close */

/* Memory a connection holds only while a request is in progress. */
struct conn_block {
	struct conn_block *next;
	struct http_request req;
	struct reply reply;
	char hdr[CONN_HDR];
	char rbuf[CONN_RBUF];
};

/* CONN_PROXY: waiting for the PROXY header, before any other byte is read. */
enum conn_state { CONN_HEAD, CONN_SEND, CONN_DISCARD, CONN_LINGER, CONN_PROXY };
enum step { STEP_AGAIN, STEP_DONE, STEP_CLOSE };

struct conn {
	struct loop_io io;
	struct loop_dnode tnode;
	struct conn_ctx *cx;
	struct conn_block *b;
	struct conn *prev, *next;        /* cx->all */
	struct conn *next_pending;
	struct conn *next_free;          /* free, closed lists */
	enum conn_state state;
	uint32_t rlen;                   /* bytes in b->rbuf */
	uint32_t hlen;                   /* head length of the request being answered */
	size_t parse_last;
	int requests;
	unsigned readable : 1;           /* read until EAGAIN (edge-triggered) */
	unsigned writable : 1;           /* write until EAGAIN */
	unsigned eof : 1;                /* read returned 0 */
	unsigned rdhup : 1;              /* the peer's FIN was signalled */
	unsigned nodelay : 1;            /* TCP_NODELAY set (or not TCP) */
	unsigned in_pending : 1;         /* on cx->pending */
	unsigned replying : 1;           /* a reply is owed: count it once */
	unsigned chunked : 1;            /* discarding a chunked body */
	unsigned tls_hs : 1;             /* TLS handshake still to finish */
	unsigned tls_rw : 1;             /* SSL_read waits for writability */
	unsigned tls_wr : 1;             /* SSL_write waits for readability */
	unsigned tls_hs_rd : 1;          /* the handshake waits for input */
	SSL *ssl;                        /* NULL on a plain connection */
	uint32_t tls_burst;              /* TLS body bytes since the last yield */
	int64_t discard;                 /* Content-Length body bytes still to skip */
	struct http_chunked chunk;
	size_t hdr_off;                  /* send cursor: head bytes sent */
	int seg_i;                       /* ... current segment */
	uint64_t seg_off;                /* ... bytes of it sent */
	uint64_t body_sent;
	time_t req_time;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} peer;
};

static void conn_run(struct conn *c);
static void conn_listen_update(struct conn_ctx *cx);

/* --- memory ------------------------------------------------------------ */

static struct conn_block *
conn_block_get(struct conn_ctx *cx)
{
	struct conn_block *b = cx->free_blocks;

	if (b != NULL)
		cx->free_blocks = b->next;
	else if ((b = malloc(sizeof(*b))) == NULL)
		return NULL;
	b->reply.hdr = b->hdr;
	b->reply.hdr_cap = sizeof(b->hdr);
	response_reset(&b->reply);
	return b;
}

static void
conn_block_put(struct conn *c)
{
	if (c->b == NULL)
		return;
	c->b->next = c->cx->free_blocks;
	c->cx->free_blocks = c->b;
	c->b = NULL;
}

/* --- timers ------------------------------------------------------------ */

static void
conn_expire(struct loop *l, struct loop_dnode *n)
{
	struct conn *c = CONTAINER(n, struct conn, tnode);

	(void)l;
	conn_close(c, "timeout");
}

static void
conn_timer(struct conn *c, struct loop_dlist *dl)
{
	loop_dnode_push(c->cx->loop, dl, &c->tnode);
}

/* --- teardown ---------------------------------------------------------- */

static void
conn_log(struct conn *c)
{
	struct conn_ctx *cx = c->cx;
	struct accesslog_entry e = { .peer = &c->peer.sa, .t = c->req_time };
	const struct http_request *req = &c->b->req;
	const char *p = c->b->rbuf;
	size_t n = 0;

	if (c->hlen > 0) {
		e.request = req->method_str.p;
		/* method SP target SP version: contiguous in the buffer */
		e.request_len = (size_t)(req->target.p + req->target.len - req->method_str.p) + 9;
		e.referer = req->referer.p;
		e.referer_len = req->referer.len;
		e.user_agent = req->user_agent.p;
		e.user_agent_len = req->user_agent.len;
	} else {
		while (n < c->rlen && n < 2048 && p[n] != '\r' && p[n] != '\n')
			n++;
		e.request = p;
		e.request_len = n;
	}
	e.status = c->b->reply.status;
	e.bytes = c->body_sent;
	if (accesslog_append(cx->alog, &e) == -1 && !cx->log_failed) {
		cx->log_failed = 1;
		log_warn("access log write");
	}
}

/* A request counts once its reply is handed to the kernel, or when the
 * connection ends during it: exactly once either way. */
static void
conn_count_request(struct conn *c)
{
	struct conn_ctx *cx = c->cx;
	int cls = stats_class(c->b->reply.status);

	cx->stats.requests++;
	if (cls >= 0)
		cx->stats.responses[cls]++;
	if (accesslog_enabled(cx->alog))
		conn_log(c);
	c->replying = 0;
	if (cx->params->max_requests > 0 &&
	    cx->stats.requests >= (uint64_t)cx->params->max_requests)
		cx->want_stop = 1;
}

static void
conn_unlink(struct conn *c)
{
	struct conn_ctx *cx = c->cx;
	struct conn **pp;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cx->all = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (c->in_pending) {
		struct conn *prev = NULL;

		for (pp = &cx->pending; *pp != NULL; prev = *pp, pp = &(*pp)->next_pending) {
			if (*pp == c) {
				*pp = c->next_pending;
				if (cx->pending_tail == c)
					cx->pending_tail = prev;
				break;
			}
		}
		c->in_pending = 0;
	}
}

void
conn_close(struct conn *c, const char *reason)
{
	struct conn_ctx *cx = c->cx;

	if (c->io.fd == -1)
		return;
	log_debug("connection %d closed: %s", c->io.fd, reason);
	if (c->state == CONN_PROXY)
		cx->stats.proxy_rejected++;
	if (c->b != NULL) {
		if (c->replying)
			conn_count_request(c);
		response_release(&cx->rctx, &c->b->reply);
		conn_block_put(c);
	}
	loop_dnode_remove(&c->tnode);
	conn_unlink(c);
	if (cx->tls_owner == c)
		cx->tls_owner = NULL;
	if (c->ssl != NULL) {
		/* A handshake cut short by the client, an error or the header
		 * timeout: counted once, here. */
		if (c->tls_hs && c->state != CONN_PROXY)
			cx->stats.tls_handshake_errors++;
		tls_conn_free(c->ssl, 1);
		c->ssl = NULL;
	}
	close(c->io.fd);
	c->io.fd = -1;
	c->next_free = cx->closed;
	cx->closed = c;
	cx->nconns--;
	cx->stats.connections_active--;
	conn_listen_update(cx);
}

/* --- reading ----------------------------------------------------------- */

/* Reads into the block. Returns bytes read, 0 at EOF, -1 on EAGAIN (the
 * readable flag cleared) and -2 on error. */
/* The TLS side of conn_read. Only WANT_READ proves the socket empty: a
 * short SSL_read may leave records in the socket, and no edge would come
 * for them, so readable stays set until OpenSSL asks for more. */
static ssize_t
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

static ssize_t
conn_read(struct conn *c)
{
	uint32_t space = CONN_RBUF - c->rlen;
	ssize_t n;

	if (c->ssl != NULL)
		return conn_read_tls(c, space);
	for (;;) {
		n = read(c->io.fd, c->b->rbuf + c->rlen, space);
		if (n > 0) {
			c->cx->stats.bytes_in += (uint64_t)n;
			c->rlen += (uint32_t)n;
			/* A short read emptied the socket: the next edge will tell.
			 * Not after the peer's FIN was signalled: no edge follows it,
			 * and the next read returns the EOF. */
			if ((uint32_t)n < space && !c->rdhup)
				c->readable = 0;
			return n;
		}
		if (n == 0) {
			c->eof = 1;
			c->readable = 0;
			return 0;
		}
		if (errno == EINTR)
			continue;
		c->readable = 0;
		return errno == EAGAIN ? -1 : -2;
	}
}

/* Starts the reply to a parse error: the framing is lost, so it closes. */
static void
conn_reply_error(struct conn *c, int status)
{
	struct conn_ctx *cx = c->cx;

	response_date_update(&cx->rctx, time(NULL));
	c->hlen = 0;
	c->b->reply.close = 1;
	response_error(&cx->rctx, status, &c->b->reply);
}

/*
 * A GET or HEAD body is skipped after the reply, but a framing error in
 * the part already read must be answered like any other: 400 and close,
 * not a 200 followed by a silent close. Checked on a scratch decoder, so
 * the real one still starts at the body once the reply is sent.
 */
static int
conn_chunked_bad(const struct conn *c)
{
	struct http_chunked scratch;

	memset(&scratch, 0, sizeof(scratch));
	return http_chunked_consume(&scratch, c->b->rbuf + c->hlen,
	    c->rlen - c->hlen) < 0;
}

static void
conn_reply_build(struct conn *c)
{
	struct conn_ctx *cx = c->cx;
	const struct worker_params *p = cx->params;
	const struct http_request *req = &c->b->req;
	struct reply *r = &c->b->reply;

	response_date_update(&cx->rctx, c->req_time);
	cx->rctx.now_ms = loop_now(cx->loop);
	c->requests++;
	r->close = !req->keep_alive || cx->stopping || c->eof ||
	    p->keepalive_timeout_ms <= 0 ||
	    (p->keepalive_requests > 0 && c->requests >= p->keepalive_requests);
	c->discard = 0;
	c->chunked = 0;
	if (req->method == HTTP_M_GET || req->method == HTTP_M_HEAD) {
		if (req->chunked) {
			memset(&c->chunk, 0, sizeof(c->chunk));
			c->chunked = 1;
		} else if (req->content_length > 0) {
			c->discard = req->content_length;
			if (c->discard > CONN_DISCARD_MAX)
				r->close = 1;
		}
		/* Without "100 Continue" the client may never send the body it
		 * announced: the next bytes could be body or request. */
		if (req->expect_continue && (c->chunked || c->discard > 0))
			r->close = 1;
	}
	if (c->chunked && conn_chunked_bad(c)) {
		c->chunked = 0;
		r->close = 1;
		response_error(&cx->rctx, 400, r);
		return;
	}
	response_build(&cx->rctx, req, r);
}

/* Reads and parses until a request head is complete (its reply is then
 * built and the state is CONN_SEND). */
static enum step
conn_head(struct conn *c)
{
	struct conn_ctx *cx = c->cx;
	int status = 0, n, idle;
	ssize_t rd;

	for (;;) {
		if (c->rlen > 0) {
			n = http_parse_request(c->b->rbuf, c->rlen, cx->max_head,
			    &c->parse_last, &c->b->req, &status);
			if (n != 0) {
				c->req_time = time(NULL);
				c->replying = 1;
				c->state = CONN_SEND;
				if (n > 0) {
					c->hlen = (uint32_t)n;
					conn_reply_build(c);
				} else
					conn_reply_error(c, status ? status : 400);
				loop_dnode_remove(&c->tnode);
				return STEP_DONE;
			}
		}
		if (c->eof || !c->readable)
			return c->eof ? STEP_CLOSE : STEP_AGAIN;
		idle = c->rlen == 0 && c->tnode.list == &cx->ka_list;
		rd = conn_read(c);
		/* The first byte of a request ends keep-alive idleness. */
		if (rd > 0 && idle)
			conn_timer(c, &cx->hdr_list);
		if (rd == -2)
			return STEP_CLOSE;
		if (rd == -1)
			return STEP_AGAIN;
	}
}

/* The PROXY header: its client address replaces the peer's, then HTTP (or
 * TLS) starts on the very next byte. Bounded by the header timeout, which
 * runs from the accept. */
static enum step
conn_proxy(struct conn *c)
{
	struct proxy_result res;
	int n = proxy_recv(c->io.fd, c->rdhup, &res);

	if (n == 0) {
		c->readable = 0;
		return STEP_AGAIN;
	}
	if (n < 0)
		return STEP_CLOSE;
	c->cx->stats.bytes_in += (uint64_t)n;
	if (!res.local)
		memcpy(&c->peer, &res.src, sizeof(c->peer));
	c->state = CONN_HEAD;
	return STEP_DONE;
}

/* Skips the body of the request just answered (GET/HEAD only). */
static enum step
conn_discard(struct conn *c)
{
	uint32_t take;
	long used;
	ssize_t rd;

	for (;;) {
		if (c->chunked) {
			used = http_chunked_consume(&c->chunk, c->b->rbuf, c->rlen);
			if (used < 0)
				return STEP_CLOSE;
			take = (uint32_t)used;
		} else
			take = c->discard < c->rlen ? (uint32_t)c->discard : c->rlen;
		memmove(c->b->rbuf, c->b->rbuf + take, c->rlen - take);
		c->rlen -= take;
		if (!c->chunked)
			c->discard -= take;
		if (c->chunked ? c->chunk.done : c->discard == 0) {
			c->chunked = 0;
			return STEP_DONE;
		}
		if (c->eof || !c->readable)
			return c->eof ? STEP_CLOSE : STEP_AGAIN;
		if ((rd = conn_read(c)) == -2)
			return STEP_CLOSE;
		if (rd == -1)
			return STEP_AGAIN;
	}
}

/* After a closing reply: half-close, then read and drop what the client
 * still sends until it closes, so our reply is not lost to a reset. */
static enum step
conn_linger(struct conn *c)
{
	ssize_t n;

	for (;;) {
		c->rlen = 0;
		if ((n = conn_read(c)) == 0 || n == -2)
			return STEP_CLOSE;
		if (n == -1)
			return STEP_AGAIN;
	}
}

/* --- sending ----------------------------------------------------------- */

/* Moves the send cursor over n bytes just written. */
static void
conn_advance(struct conn *c, size_t n)
{
	struct reply *r = &c->b->reply;
	size_t take;

	c->cx->stats.bytes_out += n;
	take = r->hdr_len - c->hdr_off < n ? r->hdr_len - c->hdr_off : n;
	c->hdr_off += take;
	n -= take;
	c->body_sent += n;
	while (n > 0 && c->seg_i < r->nseg) {
		take = r->seg[c->seg_i].len - c->seg_off < n ?
		    r->seg[c->seg_i].len - c->seg_off : n;
		c->seg_off += take;
		n -= take;
		if (c->seg_off == r->seg[c->seg_i].len) {
			c->seg_i++;
			c->seg_off = 0;
		}
	}
}

/* The head and the memory segments up to the next file segment, in one
 * sendmsg; MSG_MORE when file data follows, so they share packets. *want
 * is set to the bytes offered. */
static ssize_t
conn_send_mem(struct conn *c, size_t *want)
{
	struct reply *r = &c->b->reply;
	struct iovec iov[CONN_IOV];
	struct msghdr msg = { .msg_iov = iov };
	int i = c->seg_i, more = 0, n = 0;
	uint64_t off = c->seg_off;

	*want = 0;
	if (c->hdr_off < r->hdr_len) {
		iov[n].iov_base = r->hdr + c->hdr_off;
		iov[n++].iov_len = r->hdr_len - c->hdr_off;
		*want += r->hdr_len - c->hdr_off;
	}
	for (; i < r->nseg && n < CONN_IOV; i++, off = 0) {
		if (r->seg[i].p == NULL) {
			more = 1;
			break;
		}
		iov[n].iov_base = (char *)r->seg[i].p + off;
		iov[n++].iov_len = r->seg[i].len - off;
		*want += r->seg[i].len - off;
	}
	if (i < r->nseg)
		more = 1;
	msg.msg_iovlen = n;
	return sendmsg(c->io.fd, &msg, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
}

/* Up to CONN_SEND_CHUNK bytes of the current file segment, in one call. */
static ssize_t
conn_send_file(struct conn *c, size_t *want)
{
	struct reply *r = &c->b->reply;
	const struct reply_seg *s = &r->seg[c->seg_i];
	off_t off = (off_t)(s->off + c->seg_off);
	uint64_t left = s->len - c->seg_off;
	ssize_t n;

	*want = left > CONN_SEND_CHUNK ? CONN_SEND_CHUNK : (size_t)left;
	n = sendfile(c->io.fd, r->fd, &off, *want);
	if (n == 0) {
		/* The file shrank under us: the promised length cannot be kept. */
		errno = EPIPE;
		return -1;
	}
	return n;
}

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
static ssize_t
conn_send_tls(struct conn *c, size_t *want)
{
	struct conn_ctx *cx = c->cx;
	uint64_t pos = c->hdr_off + c->body_sent;
	size_t n = 0, len;

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
	switch (tls_write(c->ssl, cx->tls_buf + (pos - cx->tls_pos), *want, &n)) {
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

static void conn_pending_add(struct conn *c);

/* A whole chunk went out and the socket may take more: the other ready
 * connections get their chunk first (the writable flag stays set, so the
 * pending run goes on without an edge). Progress was made, so no send
 * timeout runs meanwhile. */
static enum step
conn_send_yield(struct conn *c)
{
	loop_dnode_remove(&c->tnode);
	conn_pending_add(c);
	return STEP_AGAIN;
}

/* conn_send over TLS, a record per call. Only WANT_WRITE proves the
 * socket full (OpenSSL may write less than it was offered without that);
 * a large body yields every CONN_SEND_CHUNK bytes, as over plain TCP. */
static enum step
conn_send_tls_all(struct conn *c)
{
	struct reply *r = &c->b->reply;
	size_t want;
	ssize_t n;

	while (c->writable) {
		if (c->hdr_off >= r->hdr_len && c->seg_i >= r->nseg)
			return STEP_DONE;
		if ((n = conn_send_tls(c, &want)) <= 0) {
			if (errno != EAGAIN)
				return STEP_CLOSE;
			c->writable = 0;
			conn_timer(c, &c->cx->send_list);
			return STEP_AGAIN;
		}
		conn_advance(c, (size_t)n);
		if ((c->tls_burst += (uint32_t)n) >= CONN_SEND_CHUNK && c->seg_i < r->nseg) {
			c->tls_burst = 0;
			return conn_send_yield(c);
		}
	}
	return STEP_AGAIN;
}

static enum step
conn_send(struct conn *c)
{
	struct reply *r = &c->b->reply;
	size_t want;
	ssize_t n;

	if (c->ssl != NULL)
		return conn_send_tls_all(c);
	for (;;) {
		if (!c->writable)
			return STEP_AGAIN;
		if (c->hdr_off < r->hdr_len ||
		    (c->seg_i < r->nseg && r->seg[c->seg_i].p != NULL))
			n = conn_send_mem(c, &want);
		else if (c->seg_i < r->nseg)
			n = conn_send_file(c, &want);
		else
			return STEP_DONE;
		if (n > 0) {
			conn_advance(c, (size_t)n);
			/* A short write means the socket buffer is full (the kernel
			 * then flags it for the next EPOLLOUT edge): the next call
			 * would only return EAGAIN, so skip it, as for reads. A file
			 * that shrank is then noticed on that edge, or by the send
			 * timeout. */
			if ((size_t)n == want) {
				if (want == CONN_SEND_CHUNK && c->seg_i < r->nseg)
					return conn_send_yield(c);
				continue;
			}
		} else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN)
			return STEP_CLOSE;
		c->writable = 0;
		/* Blocked: the send timeout runs from here until progress. */
		conn_timer(c, &c->cx->send_list);
		return STEP_AGAIN;
	}
}

/* The reply is with the kernel: count it, then close, or move on to the
 * body to skip and the next request. */
static enum step
conn_reply_done(struct conn *c)
{
	struct conn_ctx *cx = c->cx;
	struct reply *r = &c->b->reply;
	int close_it = r->close || cx->stopping;

	conn_count_request(c);
	if (cx->tls_owner == c)
		cx->tls_owner = NULL;     /* the next reply is another stream */
	response_release(&cx->rctx, r);
	response_reset(r);
	r->hdr = c->b->hdr;
	r->hdr_cap = sizeof(c->b->hdr);
	c->hdr_off = 0;
	c->seg_i = 0;
	c->seg_off = 0;
	c->body_sent = 0;
	loop_dnode_remove(&c->tnode);
	if (close_it) {
		/* Over TLS only WANT_READ proves the input drained: ask once
		 * (what it reads is dropped with the connection), rather than
		 * linger for every closing reply. */
		if (c->ssl != NULL && c->readable && !c->eof && c->rlen == c->hlen &&
		    c->rlen < CONN_RBUF && c->discard == 0 && !c->chunked)
			(void)conn_read(c);
		/* Nothing more can come: close at once, else linger. */
		if (c->eof || (c->rlen == c->hlen && !c->readable && c->discard == 0 && !c->chunked))
			return STEP_CLOSE;
		if (c->ssl != NULL)
			tls_close_notify(c->ssl);
		shutdown(c->io.fd, SHUT_WR);
		c->state = CONN_LINGER;
		conn_timer(c, &cx->linger_list);
		return STEP_DONE;
	}
	memmove(c->b->rbuf, c->b->rbuf + c->hlen, c->rlen - c->hlen);
	c->rlen -= c->hlen;
	c->hlen = 0;
	c->parse_last = 0;
	c->state = c->discard > 0 || c->chunked ? CONN_DISCARD : CONN_HEAD;
	if (c->state == CONN_DISCARD)
		conn_timer(c, &cx->hdr_list);
	return STEP_DONE;
}

/* Entering CONN_HEAD between requests: an empty buffer goes back to the
 * pool and the keep-alive timeout runs; leftover bytes are a pipelined
 * request, under the header timeout. */
static enum step
conn_idle(struct conn *c)
{
	struct conn_ctx *cx = c->cx;

	int one = 1;

	/* Only a kept-alive connection can have a reply held back by Nagle
	 * behind the previous one; a closing reply is flushed by close. Setting
	 * it here spares the syscall on one-request connections and pushes out
	 * whatever is still corked. */
	if (!c->nodelay) {
		setsockopt(c->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->nodelay = 1;
	}
	if (c->rlen == 0) {
		conn_block_put(c);
		conn_timer(c, cx->stopping ? &cx->drain_list : &cx->ka_list);
	} else
		conn_timer(c, &cx->hdr_list);
	return STEP_DONE;
}

static void
conn_pending_add(struct conn *c)
{
	struct conn_ctx *cx = c->cx;

	if (c->in_pending)
		return;
	c->in_pending = 1;
	c->next_pending = NULL;
	if (cx->pending_tail != NULL)
		cx->pending_tail->next_pending = c;
	else
		cx->pending = c;
	cx->pending_tail = c;
}

/* One step of the state machine; a finished reply spends one of *budget. */
static enum step
conn_step(struct conn *c, int *budget)
{
	enum step s;

	switch (c->state) {
	case CONN_HEAD:
		return conn_head(c);
	case CONN_SEND:
		if ((s = conn_send(c)) != STEP_DONE)
			return s;
		if ((s = conn_reply_done(c)) != STEP_DONE || c->state != CONN_HEAD)
			return s;
		--*budget;
		return conn_idle(c);
	case CONN_DISCARD:
		if ((s = conn_discard(c)) != STEP_DONE)
			return s;
		c->state = CONN_HEAD;
		return conn_idle(c);
	case CONN_PROXY:
		return conn_proxy(c);
	case CONN_LINGER:
	default:
		return conn_linger(c);
	}
}

/* Advances the TLS handshake; the header timeout set at accept bounds it. */
static enum step
conn_handshake(struct conn *c)
{
	struct conn_ctx *cx = c->cx;
	const char *why = "";
	int resumed = 0;

	switch (tls_handshake(c->ssl, &resumed, &why)) {
	case TLS_IO_OK:
		c->tls_hs = 0;
		cx->stats.tls_handshakes++;
		if (resumed)
			cx->stats.tls_resumed++;
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
static int
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

/* Runs the state machine until it blocks or closes. A client with many
 * pipelined requests yields after CONN_BUDGET replies and continues after
 * the event batch, so it cannot starve the others. */
static void
conn_run(struct conn *c)
{
	int budget = CONN_BUDGET;
	enum step s;

	for (;;) {
		if (!conn_tls_ready(c))
			return;
		if (c->b == NULL && c->state != CONN_PROXY) {
			if (c->state == CONN_HEAD && !c->readable && !c->eof)
				return;
			if (c->state != CONN_HEAD || (c->b = conn_block_get(c->cx)) == NULL) {
				conn_close(c, "out of memory");
				return;
			}
		}
		s = conn_step(c, &budget);
		if (s == STEP_CLOSE) {
			conn_close(c, c->eof ? "closed by peer" : "done");
			return;
		}
		if (s == STEP_AGAIN) {
			if (c->state == CONN_HEAD && c->rlen == 0)
				conn_block_put(c);
			return;
		}
		if (budget <= 0 && c->state == CONN_HEAD && (c->rlen > 0 || c->readable)) {
			conn_pending_add(c);
			return;
		}
	}
}

static void
conn_event(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct conn *c = CONTAINER(io, struct conn, io);

	(void)l;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = 1;
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->rdhup = 1;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		c->writable = 1;
	/* OpenSSL's cross-waits: a read that needs to write, and back. */
	if (c->tls_rw && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
		c->tls_rw = 0;
		c->readable = 1;
	}
	if (c->tls_wr && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
		c->tls_wr = 0;
		c->writable = 1;
	}
	/* Queued for after the batch: running it now too would give it a
	 * second turn ahead of the others. */
	if (c->in_pending)
		return;
	conn_run(c);
}

/* --- accepting --------------------------------------------------------- */

static struct conn *
conn_new(struct conn_ctx *cx, int fd)
{
	struct conn *c = cx->free_conns;

	if (c != NULL)
		cx->free_conns = c->next_free;
	else if ((c = malloc(sizeof(*c))) == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->cx = cx;
	c->io.fd = fd;
	c->io.cb = conn_event;
	c->state = CONN_HEAD;
	c->writable = 1;
	return c;
}

static void
conn_free_to_pool(struct conn_ctx *cx, struct conn *c)
{
	c->next_free = cx->free_conns;
	cx->free_conns = c;
}

/* Counts c in and puts it on the connection list, under the header timeout. */
static void
conn_link(struct conn_ctx *cx, struct conn *c, const struct sockaddr_storage *ss)
{
	/* Unix sockets have no Nagle; TCP gets TCP_NODELAY once it is kept alive. */
	c->nodelay = ss->ss_family != AF_INET && ss->ss_family != AF_INET6;
	memcpy(&c->peer, ss, ss->ss_family == AF_INET6 ? sizeof(c->peer.in6) :
	    sizeof(c->peer.in));
	c->next = cx->all;
	if (cx->all != NULL)
		cx->all->prev = c;
	cx->all = c;
	cx->nconns++;
	cx->stats.connections_accepted++;
	cx->stats.connections_active++;
	conn_timer(c, &cx->hdr_list);
}

/* Takes one accepted socket in and serves it at once: the listeners defer
 * accepting until the request has arrived (TCP_DEFER_ACCEPT), so the first
 * read usually finds it. A one-request connection is then read, answered
 * and closed without ever being registered with epoll; only a connection
 * that outlives this first turn is registered. ADD polls the socket, so
 * readiness that came before it is still reported (edge-triggered). */
static void
conn_start(struct conn_ctx *cx, int fd, const struct sockaddr_storage *ss,
    const struct conn_listener *li)
{
	const struct worker_params *p = cx->params;
	struct conn *c;

	/* Only a trusted balancer may name the client: anyone else is refused
	 * before a byte is read (it does not speak HTTP here, so no 400). */
	if (li->proxy && !proxy_cidr_match(p->proxy_from, p->nproxy_from,
	    (const struct sockaddr *)ss)) {
		cx->stats.proxy_rejected++;
		close(fd);
		return;
	}
	if ((c = conn_new(cx, fd)) == NULL) {
		close(fd);
		return;
	}
	if (li->tls && (c->ssl = tls_conn_new(p->tls_ctx, fd)) == NULL) {
		conn_free_to_pool(cx, c);
		close(fd);
		return;
	}
	c->tls_hs = li->tls;
	conn_link(cx, c, ss);
	if (li->proxy)
		c->state = CONN_PROXY;
	/* TLS writes come in small pieces even for one request (handshake
	 * flight, session ticket, reply, close_notify): Nagle would hold each
	 * behind the client's delayed ACK. */
	if (li->tls && !c->nodelay) {
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->nodelay = 1;
	}
	c->readable = 1;
	conn_run(c);
	if (c->io.fd != -1 &&
	    loop_io_add(cx->loop, &c->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) == -1)
		conn_close(c, "epoll_ctl");
}

static void
conn_emfile_resume(struct loop *l, struct loop_timer *t)
{
	struct conn_ctx *cx = t->data;

	(void)l;
	cx->emfile_paused = 0;
	conn_listen_update(cx);
}

/* Out of descriptors: stop accepting for a moment (other workers may have
 * room), log at most once a minute, and never spin on a ready listener. */
static void
conn_emfile(struct conn_ctx *cx)
{
	int64_t now = loop_now(cx->loop);

	if (cx->emfile_logged_ms == 0 || now - cx->emfile_logged_ms >= CONN_EMFILE_LOG_MS) {
		log_warn("accept4: pausing accepts for %d ms", CONN_EMFILE_PAUSE_MS);
		cx->emfile_logged_ms = now;
	}
	cx->emfile_paused = 1;
	conn_listen_update(cx);
	loop_timer_add(cx->loop, &cx->emfile_timer, CONN_EMFILE_PAUSE_MS);
}

/* Accepts up to n connections from fd, while under max_connections.
 * Returns 0 when the queue is empty, 1 when it stopped early. */
static int
conn_accept_some(struct conn_ctx *cx, const struct conn_listener *li, int n)
{
	int lfd = li->io.fd;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, max = cx->max_conns;

	while (n-- > 0) {
		if (max > 0 && cx->nconns >= max)
			return 1;
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				conn_emfile(cx);
				return 1;
			}
			return 0;
		}
		conn_start(cx, fd, &ss, li);
	}
	return 1;
}

static void
conn_accept(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct conn_listener *li = CONTAINER(io, struct conn_listener, io);

	(void)l;
	(void)events;
	/* Bounded, so one busy listener cannot starve the connections; the
	 * level-triggered listener reports the rest on the next wait. */
	if (li->registered && conn_accept_some(li->cx, li, 64))
		conn_listen_update(li->cx);
}

/* Listeners are watched only while we may accept: not stopping, not out
 * of descriptors, under max_connections. EPOLLEXCLUSIVE registrations
 * cannot be modified, so pausing is a delete and resuming an add. */
static void
conn_listen_update(struct conn_ctx *cx)
{
	int want, i, max = cx->max_conns;

	want = !cx->stopping && !cx->emfile_paused && (max <= 0 || cx->nconns < max);
	for (i = 0; i < cx->nlisten; i++) {
		struct conn_listener *li = &cx->listeners[i];

		if (want && !li->registered) {
			if (loop_io_add(cx->loop, &li->io, EPOLLIN | EPOLLEXCLUSIVE) == 0)
				li->registered = 1;
		} else if (!want && li->registered) {
			loop_io_del(cx->loop, &li->io);
			li->registered = 0;
		}
	}
}

/* --- the context ------------------------------------------------------- */

static void
conn_after_batch(struct loop *l, void *arg)
{
	struct conn_ctx *cx = arg;
	struct conn *c, *next;

	(void)l;
	/* Those queued now, once each, in order; one that queues itself
	 * again goes on the fresh list for the next turn. */
	c = cx->pending;
	cx->pending = cx->pending_tail = NULL;
	for (; c != NULL; c = next) {
		next = c->next_pending;
		c->in_pending = 0;
		if (c->io.fd != -1)
			conn_run(c);
	}
	while ((c = cx->closed) != NULL) {
		cx->closed = c->next_free;
		conn_free_to_pool(cx, c);
	}
}

static int
conn_busy(void *arg)
{
	return ((struct conn_ctx *)arg)->pending != NULL;
}

int
conn_ctx_init(struct conn_ctx *cx, struct loop *l, const struct worker_params *p,
    int rootfd, struct file_cache *fc, struct accesslog *alog)
{
	int i;

	memset(cx, 0, sizeof(*cx));
	cx->loop = l;
	cx->params = p;
	cx->alog = alog;
	cx->max_head = CONN_RBUF;
	cx->max_conns = fdlimit_conns(p->max_connections, p->nlisten, fdlimit_current());
	cx->rctx.params = p;
	cx->rctx.fc = fc;
	cx->rctx.rootfd = rootfd;
	cx->emfile_timer.cb = conn_emfile_resume;
	cx->emfile_timer.data = cx;
	loop_dlist_init(l, &cx->ka_list, p->keepalive_timeout_ms, conn_expire);
	loop_dlist_init(l, &cx->hdr_list, p->header_timeout_ms, conn_expire);
	loop_dlist_init(l, &cx->send_list, p->send_timeout_ms, conn_expire);
	loop_dlist_init(l, &cx->linger_list, CONN_LINGER_MS, conn_expire);
	loop_dlist_init(l, &cx->drain_list, CONN_DRAIN_MS, conn_expire);
	loop_set_after_batch(l, conn_after_batch, cx);
	loop_set_busy(l, conn_busy, cx);
	if (p->tls_ctx != NULL && (cx->tls_buf = malloc(CONN_TLS_BUF)) == NULL)
		return -1;
	cx->nlisten = p->nlisten < WORKER_MAX_LISTEN ? p->nlisten : WORKER_MAX_LISTEN;
	for (i = 0; i < cx->nlisten; i++) {
		cx->listeners[i].cx = cx;
		cx->listeners[i].io.fd = p->listen_fds[i];
		cx->listeners[i].io.cb = conn_accept;
		cx->listeners[i].proxy = p->listen_proxy[i];
		cx->listeners[i].tls = p->listen_tls[i] && p->tls_ctx != NULL;
	}
	conn_listen_update(cx);
	for (i = 0; i < cx->nlisten; i++) {
		if (!cx->listeners[i].registered)
			return -1;
	}
	return 0;
}

void
conn_stop_graceful(struct conn_ctx *cx)
{
	struct conn *c, *next;

	int i;

	cx->stopping = 1;
	conn_listen_update(cx);
	/* EPOLLEXCLUSIVE woke only us for connections already queued: take
	 * them now (the listeners are off, so later ones wake other workers)
	 * rather than strand them in the backlog. They are served, then closed. */
	for (i = 0; i < cx->nlisten; i++)
		conn_accept_some(cx, &cx->listeners[i], 1024);
	/* An idle keep-alive connection gets CONN_DRAIN_MS for its next request
	 * (answered with Connection: close), then closes: closing it at once
	 * would race with a client that is sending right now, which fails that
	 * request. A new connection is not idle: its first request is coming. */
	for (c = cx->all; c != NULL; c = next) {
		next = c->next;
		if (c->state == CONN_HEAD && c->rlen == 0 && c->tnode.list == &cx->ka_list)
			conn_timer(c, &cx->drain_list);
	}
}

void
conn_close_all(struct conn_ctx *cx)
{
	while (cx->all != NULL)
		conn_close(cx->all, "exit");
}

void
conn_ctx_free(struct conn_ctx *cx)
{
	struct conn *c;
	struct conn_block *b;

	conn_after_batch(cx->loop, cx);
	cx->pending = cx->pending_tail = NULL;
	while ((c = cx->free_conns) != NULL) {
		cx->free_conns = c->next_free;
		free(c);
	}
	while ((b = cx->free_blocks) != NULL) {
		cx->free_blocks = b->next;
		free(b);
	}
	free(cx->tls_buf);
	cx->tls_buf = NULL;
}
