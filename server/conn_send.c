/*
 * Sending a reply: the head and memory segments by sendmsg, file segments
 * by sendfile CONN_SEND_CHUNK bytes at a time, and the pending queue a
 * connection joins after each chunk so that every sending connection gets
 * a turn per loop iteration. Over TLS the same loop writes records
 * (conn_tls.c seals them). Apart from conn.c because it is the part that
 * moves bytes and keeps the fairness, not the part that decides them.
 */
#include "server/conn_internal.h"

#include <errno.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define CONN_IOV 16

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

void
conn_pending_add(struct conn *c)
{
	struct conn_ctx *cx = c->cx;

	if (c->queue != NULL)
		return;
	c->queue = &cx->pending;
	TAILQ_INSERT_TAIL(&cx->pending, c, queue_link);
}

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

/* Whether c has sent a chunk's worth and must let the others go first
 * (only while body segments remain): a whole sendfile chunk over plain
 * TCP; over TLS, whose records are small, CONN_SEND_CHUNK bytes added up
 * since the last yield. */
static int
conn_chunk_sent(struct conn *c, size_t n, size_t want)
{
	int more = c->seg_i < c->b->reply.nseg;

	if (c->ssl == NULL)
		return more && n == want && want == CONN_SEND_CHUNK;
	if ((c->tls_burst += (uint32_t)n) < CONN_SEND_CHUNK || !more)
		return 0;
	c->tls_burst = 0;
	return 1;
}

/* One write from the send cursor, which is not at the end: a TLS record,
 * else the head and memory segments, else a file chunk. *want is set to
 * the bytes offered. */
static ssize_t
conn_send_once(struct conn *c, size_t *want)
{
	const struct reply *r = &c->b->reply;

	if (c->ssl != NULL)
		return conn_send_tls(c, want);
	if (c->hdr_off < r->hdr_len || r->seg[c->seg_i].p != NULL)
		return conn_send_mem(c, want);
	return conn_send_file(c, want);
}

/* Writes until the reply is out, the socket is full, or a chunk's worth
 * went out and c queues behind the other sending connections. */
enum step
conn_send(struct conn *c)
{
	const struct reply *r = &c->b->reply;
	size_t want;
	ssize_t n;

	while (c->writable) {
		if (c->hdr_off >= r->hdr_len && c->seg_i >= r->nseg)
			return STEP_DONE;
		if ((n = conn_send_once(c, &want)) > 0) {
			conn_advance(c, (size_t)n);
			if (conn_chunk_sent(c, (size_t)n, want))
				return conn_send_yield(c);
			/* A short write means the socket buffer is full (the kernel
			 * then flags it for the next EPOLLOUT edge): the next call
			 * would only return EAGAIN, so skip it, as for reads. A file
			 * that shrank is then noticed on that edge, or by the send
			 * timeout. Not over TLS: OpenSSL may write less than it was
			 * offered, and only WANT_WRITE proves the socket full. */
			if ((size_t)n == want || c->ssl != NULL)
				continue;
		} else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN)
			return STEP_CLOSE;
		c->writable = 0;
		/* Blocked: the send timeout runs from here until progress. */
		conn_timer(c, &c->cx->send_list);
		return STEP_AGAIN;
	}
	return STEP_AGAIN;
}
