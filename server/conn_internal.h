/*
 * What the connection files share and nothing else needs: struct conn, its
 * request block and states, and the functions one file calls in another.
 * conn.h stays the worker's interface; this header is for server/conn*.c.
 */
#ifndef PREFORKD_CONN_INTERNAL_H
#define PREFORKD_CONN_INTERNAL_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "ipc/base/util.h"
#include "server/conn.h"
#include "server/http_parse.h"
#include "server/tls.h"


/* Memory a connection holds only while a request is in progress. */
struct conn_block {
	SLIST_ENTRY(conn_block) link;    /* cx->free_blocks */
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
	LIST_ENTRY(conn) all_link;       /* cx->all */
	TAILQ_ENTRY(conn) queue_link;    /* on queue */
	struct conn_queue *queue;        /* cx->pending or cx->running, or NULL */
	SLIST_ENTRY(conn) free_link;     /* cx->free_conns or cx->closed */
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

/* conn.c: the request/reply cycle */
void conn_timer(struct conn *c, struct loop_dlist *dl);
ssize_t conn_read(struct conn *c);
void conn_run(struct conn *c);
void conn_event(struct loop *l, struct loop_io *io, uint32_t events);

/* conn_accept.c: from the listener to the first HTTP byte */
void conn_free_to_pool(struct conn_ctx *cx, struct conn *c);
enum step conn_proxy(struct conn *c);
void conn_emfile_resume(struct loop *l, struct loop_timer *t);
int conn_accept_some(struct conn_ctx *cx, const struct conn_listener *li, int n);
void conn_accept(struct loop *l, struct loop_io *io, uint32_t events);
void conn_listen_update(struct conn_ctx *cx);

/* conn_send.c: the reply sender and the pending queue */
enum step conn_send(struct conn *c);
void conn_pending_add(struct conn *c);

/* conn_tls.c: TLS in place of read, sendmsg and sendfile */
ssize_t conn_read_tls(struct conn *c, uint32_t space);
ssize_t conn_send_tls(struct conn *c, size_t *want);
int conn_tls_ready(struct conn *c);

#endif
