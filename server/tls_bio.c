/*
 * The socket BIO of a TLS connection (see tls_bio.h for the contract):
 * writes that batch records, reads that remember a drained socket.
 *
 * Why not BIO_f_buffer: it accepts bytes it has not sent and only gives
 * them back on an explicit flush, so the last record of a reply could sit
 * in user space while the connection waits for a request that will not
 * come. Here the write that ends a batch is never taken until everything
 * staged before it reached the kernel, so "SSL_write returned the last
 * byte" still means "the reply is with the kernel".
 */
#include "server/tls_bio.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "server/tls.h"

/* Room for a full batch even with the largest record overhead (CBC, MAC,
 * padding) a configured cipher could add. */
#define TLS_STAGE (TLS_BATCH * (TLS_RECORD + SSL3_RT_HEADER_LENGTH + \
    SSL3_RT_MAX_ENCRYPTED_OVERHEAD))

/* One per process: a worker seals for one connection at a time, and only
 * a socket that filled up leaves bytes behind (then owner keeps them). */
static struct {
	BIO *owner;                   /* whose bytes [off, len) are */
	BIO *held;                    /* stages its writes and defers its flushes */
	BIO *drained;                 /* found its socket empty this turn */
	size_t off, len;
	int corked;
	unsigned char buf[TLS_STAGE];
} tls_stage;

static BIO_METHOD *tls_bio_method;

static int
tls_bio_fd(BIO *b)
{
	return (int)(intptr_t)BIO_get_data(b);
}

static void
tls_stage_drop(void)
{
	tls_stage.owner = NULL;
	tls_stage.off = tls_stage.len = 0;
}

/*
 * Sends what b staged, then up to dlen bytes of data, in one writev.
 * Returns the bytes of data sent (0 included) once the staged bytes are
 * all out; -1 with errno otherwise (EAGAIN: the socket is full). EINTR is
 * retried here: a retry flag would make the caller wait for an edge that
 * a signal does not produce.
 */
static ssize_t
tls_stage_send(BIO *b, const void *data, size_t dlen)
{
	size_t staged = tls_stage.owner == b ? tls_stage.len - tls_stage.off : 0;
	struct iovec iov[2];
	int n = 0;
	ssize_t sent;

	if (staged > 0)
		iov[n++] = (struct iovec){ tls_stage.buf + tls_stage.off, staged };
	if (dlen > 0)
		iov[n++] = (struct iovec){ (void *)data, dlen };
	if (n == 0)
		return 0;
	do
		sent = writev(tls_bio_fd(b), iov, n);
	while (sent == -1 && errno == EINTR);
	if (sent == -1)
		return -1;
	if ((size_t)sent < staged) {
		tls_stage.off += (size_t)sent;
		errno = EAGAIN;       /* a short write: the socket is full */
		return -1;
	}
	if (staged > 0)
		tls_stage_drop();
	return sent - (ssize_t)staged;
}

/* Stages data when corked and the buffer is b's (or free) and has room,
 * sending what b staged before when it has not. 1 when staged, 0 when
 * data should go straight out, -1 (errno) when the staged bytes are stuck. */
static int
tls_stage_put(BIO *b, const void *data, size_t dlen)
{
	if (!(tls_stage.corked || tls_stage.held == b) ||
	    (tls_stage.owner != NULL && tls_stage.owner != b))
		return 0;
	if (tls_stage.len + dlen > sizeof(tls_stage.buf)) {
		if (tls_stage_send(b, NULL, 0) == -1)
			return -1;
		if (dlen > sizeof(tls_stage.buf))
			return 0;
	}
	if (tls_stage.off == tls_stage.len)
		tls_stage.off = tls_stage.len = 0;
	memcpy(tls_stage.buf + tls_stage.len, data, dlen);
	tls_stage.len += dlen;
	tls_stage.owner = b;
	return 1;
}

static int
tls_bio_write(BIO *b, const char *data, int dlen)
{
	ssize_t n;
	int staged;

	BIO_clear_retry_flags(b);
	if (dlen <= 0)
		return 0;
	if ((staged = tls_stage_put(b, data, (size_t)dlen)) == 1)
		return dlen;
	n = staged == -1 ? -1 : tls_stage_send(b, data, (size_t)dlen);
	if (n > 0)
		return (int)n;
	if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
		BIO_set_retry_write(b);
		errno = EAGAIN;
	}
	return -1;
}

/*
 * A read that comes back short (or EAGAIN) proves the socket empty; until
 * the worker's next turn (tls_bio_turn), new bytes would come with an
 * edge of their own, so the next read of this BIO is answered "retry"
 * without a syscall, as a plain connection skips its read after a short
 * one. OpenSSL makes such reads after a handshake flight, after a request
 * read ahead with the client's Finished, and between requests.
 */
static int
tls_bio_read(BIO *b, char *buf, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if (tls_stage.drained == b) {
		BIO_set_retry_read(b);
		errno = EAGAIN;
		return -1;
	}
	do
		n = read(tls_bio_fd(b), buf, (size_t)len);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		if (n < len)
			tls_stage.drained = b;
		return (int)n;
	}
	if (n == 0)
		BIO_set_flags(b, BIO_FLAGS_IN_EOF);
	else if (errno == EAGAIN || errno == EWOULDBLOCK) {
		tls_stage.drained = b;
		BIO_set_retry_read(b);
	}
	return n == 0 ? 0 : -1;
}

/* OpenSSL flushes after a handshake flight and after alerts; staged bytes
 * of b's are sent then, and a full socket is a retry like any write. A
 * held BIO answers "flushed" and keeps them: its holder sends them. */
static long
tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		BIO_clear_retry_flags(b);
		if (tls_stage.held == b)
			return 1;
		if (tls_stage_send(b, NULL, 0) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				BIO_set_retry_write(b);
			return -1;
		}
		return 1;
	case BIO_CTRL_WPENDING:
		return (long)tls_bio_staged(b);
	case BIO_CTRL_EOF:            /* what tells OpenSSL an EOF from a retry */
		return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
	case BIO_C_GET_FD:
		if (ptr != NULL)
			*(int *)ptr = tls_bio_fd(b);
		return tls_bio_fd(b);
	case BIO_CTRL_DUP:
		return 1;
	default:
		return 0;
	}
}

static int
tls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* The connection ends (SSL_free): its unsent bytes go with it. */
static int
tls_bio_destroy(BIO *b)
{
	if (tls_stage.owner == b)
		tls_stage_drop();
	if (tls_stage.held == b)
		tls_stage.held = NULL;
	if (tls_stage.drained == b)
		tls_stage.drained = NULL;
	return 1;
}

BIO *
tls_bio_new(int fd)
{
	BIO *b;

	if (tls_bio_method == NULL) {
		BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
		    BIO_TYPE_DESCRIPTOR, "preforkd batched socket");

		if (m == NULL || BIO_meth_set_write(m, tls_bio_write) != 1 ||
		    BIO_meth_set_read(m, tls_bio_read) != 1 ||
		    BIO_meth_set_ctrl(m, tls_bio_ctrl) != 1 ||
		    BIO_meth_set_create(m, tls_bio_create) != 1 ||
		    BIO_meth_set_destroy(m, tls_bio_destroy) != 1) {
			BIO_meth_free(m);
			return NULL;
		}
		tls_bio_method = m;
	}
	if ((b = BIO_new(tls_bio_method)) != NULL)
		BIO_set_data(b, (void *)(intptr_t)fd);
	return b;
}

void
tls_bio_turn(void)
{
	tls_stage.drained = NULL;
}

void
tls_bio_cork(int on)
{
	tls_stage.corked = on;
}

void
tls_bio_hold(BIO *b, int on)
{
	/* One holder at a time; one that was left holding (never, if tls.c
	 * keeps its word) must not keep its bytes to itself. */
	if (on && tls_stage.held != NULL && tls_stage.held != b)
		(void)tls_bio_push(tls_stage.held);
	if (on)
		tls_stage.held = b;
	else if (tls_stage.held == b)
		tls_stage.held = NULL;
}

int
tls_bio_push(BIO *b)
{
	if (tls_stage.held == b)
		tls_stage.held = NULL;
	return tls_stage_send(b, NULL, 0) == -1 ? -1 : 0;
}

size_t
tls_bio_staged(BIO *b)
{
	return tls_stage.owner == b ? tls_stage.len - tls_stage.off : 0;
}
