/*
 * The request/reply cycle of a connection: reading and parsing a head,
 * building its reply, skipping an unread body, lingering after a closing
 * reply, keep-alive and pipelining (the state machine in conn_step and
 * conn_run); the one teardown, conn_close(); and the worker's conn_ctx.
 * Accepting, sending and TLS live beside it (conn_accept.c, conn_send.c,
 * conn_tls.c), sharing struct conn through conn_internal.h.
 */
#include "server/conn_internal.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ipc/base/log.h"
#include "ipc/stats.h"
#include "server/fdlimit.h"

#define CONN_DISCARD_MAX (1024 * 1024) /* a GET body larger than this: close */

/* --- memory ----------------------------------------------------------- */

static struct conn_block *
conn_block_get(struct conn_ctx *cx)
{
	struct conn_block *b = SLIST_FIRST(&cx->free_blocks);

	if (b != NULL)
		SLIST_REMOVE_HEAD(&cx->free_blocks, link);
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
	SLIST_INSERT_HEAD(&c->cx->free_blocks, c->b, link);
	c->b = NULL;
}

/* --- timers ----------------------------------------------------------- */

static void
conn_expire(struct loop *l, struct loop_dnode *n)
{
	struct conn *c = container_of(n, struct conn, tnode);

	(void)l;
	conn_close(c, "timeout");
}

void
conn_timer(struct conn *c, struct loop_dlist *dl)
{
	loop_dnode_push(c->cx->loop, dl, &c->tnode);
}

/* --- teardown --------------------------------------------------------- */

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
	LIST_REMOVE(c, all_link);
	if (c->queue != NULL) {
		TAILQ_REMOVE(c->queue, c, queue_link);
		c->queue = NULL;
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
	SLIST_INSERT_HEAD(&cx->closed, c, free_link);
	cx->nconns--;
	cx->stats.connections_active--;
	conn_listen_update(cx);
}

/* --- reading ---------------------------------------------------------- */

/* Reads into the block. Returns bytes read, 0 at EOF, -1 on EAGAIN (the
 * readable flag cleared) and -2 on error. */
ssize_t
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

/* The read at the bottom of a loop that wants more bytes. Returns what
 * conn_read got (0 at EOF: the loop's next pass sees c->eof), or -1 with
 * *st what the loop returns: STEP_CLOSE after EOF or on an error,
 * STEP_AGAIN when the socket has nothing more now. */
static ssize_t
conn_more(struct conn *c, enum step *st)
{
	ssize_t rd;

	if (c->eof || !c->readable) {
		*st = c->eof ? STEP_CLOSE : STEP_AGAIN;
		return -1;
	}
	if ((rd = conn_read(c)) >= 0)
		return rd;
	*st = rd == -2 ? STEP_CLOSE : STEP_AGAIN;
	return -1;
}

/* Reads and parses until a request head is complete (its reply is then
 * built and the state is CONN_SEND). */
static enum step
conn_head(struct conn *c)
{
	struct conn_ctx *cx = c->cx;
	int status = 0, n, idle;
	enum step st;
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
		idle = c->rlen == 0 && c->tnode.list == &cx->ka_list;
		if ((rd = conn_more(c, &st)) == -1)
			return st;
		/* The first byte of a request ends keep-alive idleness. */
		if (rd > 0 && idle)
			conn_timer(c, &cx->hdr_list);
	}
}

/* Skips the body of the request just answered (GET/HEAD only). */
static enum step
conn_discard(struct conn *c)
{
	enum step st;
	uint32_t take;
	long used;

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
		if (conn_more(c, &st) == -1)
			return st;
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

/* --- the cycle -------------------------------------------------------- */

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

/* Runs the state machine until it blocks or closes. A client with many
 * pipelined requests yields after CONN_BUDGET replies and continues after
 * the event batch, so it cannot starve the others. */
void
conn_run(struct conn *c)
{
	int budget = CONN_BUDGET;
	enum step s;

	if (c->ssl != NULL)
		tls_turn();     /* input may have come since a read found none */
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

void
conn_event(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct conn *c = container_of(io, struct conn, io);

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
	if (c->queue != NULL)
		return;
	conn_run(c);
}

/* --- the context ------------------------------------------------------ */

static void
conn_after_batch(struct loop *l, void *arg)
{
	struct conn_ctx *cx = arg;
	struct conn *c;

	(void)l;
	/* Those queued now, once each, in order; one that queues itself
	 * again goes on the fresh list for the next turn. One closed before
	 * its turn takes itself off the running list. */
	TAILQ_CONCAT(&cx->running, &cx->pending, queue_link);
	TAILQ_FOREACH(c, &cx->running, queue_link)
		c->queue = &cx->running;
	while ((c = TAILQ_FIRST(&cx->running)) != NULL) {
		TAILQ_REMOVE(&cx->running, c, queue_link);
		c->queue = NULL;
		if (c->io.fd != -1)
			conn_run(c);
	}
	while ((c = SLIST_FIRST(&cx->closed)) != NULL) {
		SLIST_REMOVE_HEAD(&cx->closed, free_link);
		conn_free_to_pool(cx, c);
	}
}

static int
conn_busy(void *arg)
{
	return !TAILQ_EMPTY(&((struct conn_ctx *)arg)->pending);
}

int
conn_ctx_init(struct conn_ctx *cx, struct loop *l, const struct worker_params *p,
    int rootfd, struct file_cache *fc, struct accesslog *alog)
{
	int i;

	memset(cx, 0, sizeof(*cx));
	LIST_INIT(&cx->all);
	TAILQ_INIT(&cx->pending);
	TAILQ_INIT(&cx->running);
	SLIST_INIT(&cx->closed);
	SLIST_INIT(&cx->free_conns);
	SLIST_INIT(&cx->free_blocks);
	cx->loop = l;
	cx->params = p;
	cx->alog = alog;
	cx->max_head = CONN_RBUF;
	cx->max_conns = fdlimit_conns(p->max_connections, p->open_file_cache,
	    p->nlisten, fdlimit_current());
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
	struct conn *c;
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
	LIST_FOREACH(c, &cx->all, all_link) {
		if (c->state == CONN_HEAD && c->rlen == 0 && c->tnode.list == &cx->ka_list)
			conn_timer(c, &cx->drain_list);
	}
}

void
conn_close_all(struct conn_ctx *cx)
{
	struct conn *c;

	while ((c = LIST_FIRST(&cx->all)) != NULL)
		conn_close(c, "exit");
}

void
conn_ctx_free(struct conn_ctx *cx)
{
	struct conn *c;
	struct conn_block *b;

	conn_after_batch(cx->loop, cx);
	TAILQ_INIT(&cx->pending);
	while ((c = SLIST_FIRST(&cx->free_conns)) != NULL) {
		SLIST_REMOVE_HEAD(&cx->free_conns, free_link);
		free(c);
	}
	while ((b = SLIST_FIRST(&cx->free_blocks)) != NULL) {
		SLIST_REMOVE_HEAD(&cx->free_blocks, link);
		free(b);
	}
	free(cx->tls_buf);
	cx->tls_buf = NULL;
}
