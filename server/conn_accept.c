/*
 * From the listener to the first HTTP byte: accepting (bounded per wakeup,
 * paused on descriptor exhaustion), the listeners' epoll registration, the
 * PROXY protocol phase (who may send a header, and reading it), and the
 * first turn of a new connection, served before it is ever registered.
 * Apart from conn.c because none of it runs again once a connection is in
 * its request/reply cycle.
 */
#include "server/conn_internal.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/base/log.h"
#include "server/proxy_proto.h"

static struct conn *
conn_new(struct conn_ctx *cx, int fd)
{
	struct conn *c = SLIST_FIRST(&cx->free_conns);

	if (c != NULL)
		SLIST_REMOVE_HEAD(&cx->free_conns, free_link);
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

void
conn_free_to_pool(struct conn_ctx *cx, struct conn *c)
{
	SLIST_INSERT_HEAD(&cx->free_conns, c, free_link);
}

/* Counts c in and puts it on the connection list, under the header timeout. */
static void
conn_link(struct conn_ctx *cx, struct conn *c, const struct sockaddr_storage *ss)
{
	/* Unix sockets have no Nagle; TCP gets TCP_NODELAY once it is kept alive. */
	c->nodelay = ss->ss_family != AF_INET && ss->ss_family != AF_INET6;
	memcpy(&c->peer, ss, ss->ss_family == AF_INET6 ? sizeof(c->peer.in6) :
	    sizeof(c->peer.in));
	LIST_INSERT_HEAD(&cx->all, c, all_link);
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

/* The PROXY header: its client address replaces the peer's, then HTTP (or
 * TLS) starts on the very next byte. Bounded by the header timeout, which
 * runs from the accept. */
enum step
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

/* --- accepting -------------------------------------------------------- */

void
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
int
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

void
conn_accept(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct conn_listener *li = container_of(io, struct conn_listener, io);

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
void
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
