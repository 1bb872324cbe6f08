/*
 * TLS body writes (issue 16): the write BIO batches the records of one
 * tls_write into one write(), keeps a record the socket refused for the
 * next call, and never reports a reply's last byte taken while ciphertext
 * is still in user space. A one-request connection's session ticket,
 * reply and close_notify share one write, and nothing stays staged once
 * the server waits for the client.
 */
#include "server/tls.h"
#include "server/tls_bio.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static size_t
queued(int fd)
{
	int n = 0;

	cr_assert_eq(ioctl(fd, FIONREAD, &n), 0);
	return (size_t)n;
}

Test(tls_bio, corked_records_leave_in_one_write_in_order)
{
	char rec[3][100], out[400];
	int p[2];
	BIO *b;

	cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
	cr_assert_not_null(b = tls_bio_new(p[1]));
	for (int i = 0; i < 3; i++)
		memset(rec[i], 'a' + i, sizeof(rec[i]));
	tls_bio_cork(1);
	cr_expect_eq(BIO_write(b, rec[0], 100), 100);
	cr_expect_eq(BIO_write(b, rec[1], 100), 100);
	cr_expect_eq(queued(p[0]), 0u, "corked records stay staged");
	cr_expect_eq((size_t)BIO_wpending(b), 200u);
	tls_bio_cork(0);
	cr_expect_eq(BIO_write(b, rec[2], 100), 100);
	cr_expect_eq(queued(p[0]), 300u);
	cr_expect_eq(BIO_wpending(b), 0);
	cr_assert_eq(read(p[0], out, sizeof(out)), 300);
	for (int i = 0; i < 300; i++)
		cr_assert_eq(out[i], 'a' + i / 100, "byte %d", i);
	BIO_free(b);
	close(p[0]);
	close(p[1]);
}

/* A pipe of one page: the staged bytes do not fit, the last record is
 * refused (retry) until they are out, and another connection meanwhile
 * writes straight through rather than into the first one's bytes. */
Test(tls_bio, refused_record_waits_for_the_staged_bytes)
{
	static char big[6000], small[10], out[8192];
	int p[2], q[2];
	BIO *b, *other;
	ssize_t got;

	cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
	cr_assert_eq(pipe2(q, O_NONBLOCK), 0);
	cr_assert_eq(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
	memset(big, 'x', sizeof(big));
	memset(small, 'y', sizeof(small));
	cr_assert_not_null(b = tls_bio_new(p[1]));
	cr_assert_not_null(other = tls_bio_new(q[1]));
	tls_bio_cork(1);
	cr_expect_eq(BIO_write(b, big, sizeof(big)), (int)sizeof(big));
	tls_bio_cork(0);
	cr_expect_eq(BIO_write(b, small, sizeof(small)), -1);
	cr_expect(BIO_should_retry(b) && BIO_should_write(b));
	cr_expect_eq(tls_bio_staged(b), sizeof(big) - 4096);
	tls_bio_cork(1);
	cr_expect_eq(BIO_write(other, small, sizeof(small)), (int)sizeof(small));
	tls_bio_cork(0);
	cr_expect_eq(queued(q[0]), sizeof(small), "not staged behind b's bytes");
	cr_expect_eq(tls_bio_staged(other), 0u);
	cr_assert_eq(read(p[0], out, sizeof(out)), 4096);
	cr_expect_eq(BIO_write(b, small, sizeof(small)), (int)sizeof(small));
	cr_expect_eq(tls_bio_staged(b), 0u);
	got = read(p[0], out, sizeof(out));
	cr_assert_eq(got, (ssize_t)(sizeof(big) - 4096 + sizeof(small)));
	cr_expect(memcmp(out, big, sizeof(big) - 4096) == 0);
	cr_expect(memcmp(out + sizeof(big) - 4096, small, sizeof(small)) == 0);
	BIO_free(b);
	BIO_free(other);
	for (int i = 0; i < 2; i++) {
		close(p[i]);
		close(q[i]);
	}
}

/* --- over a real TLS session ------------------------------------------ */

static char cert_path[] = "/tmp/preforkd-tls-io-cert-XXXXXX";
static char key_path[] = "/tmp/preforkd-tls-io-key-XXXXXX";

/* A throwaway self-signed P-256 certificate and its key, as PEM files. */
static void
make_pair(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	FILE *f;
	int fd;

	cr_assert_not_null(k);
	cr_assert_not_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	cr_assert(X509_sign(x, k, EVP_sha256()) > 0);
	cr_assert_geq(fd = mkstemp(cert_path), 0);
	cr_assert_not_null(f = fdopen(fd, "w"));
	PEM_write_X509(f, x);
	fclose(f);
	cr_assert_geq(fd = mkstemp(key_path), 0);
	cr_assert_not_null(f = fdopen(fd, "w"));
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
drop_pair(void)
{
	unlink(cert_path);
	unlink(key_path);
}

/* Reads what the client can without blocking; returns the bytes added. */
static size_t
client_drain(SSL *cl, unsigned char *got, size_t *have, size_t cap)
{
	size_t n, total = 0;

	while (*have < cap && SSL_read_ex(cl, got + *have, cap - *have, &n) == 1) {
		*have += n;
		total += n;
	}
	ERR_clear_error();
	return total;
}

/* Both ends of a socket through their handshakes, in turns. */
static void
handshake_both(SSL *srv, SSL *cl)
{
	int resumed, cdone = 0, sdone = 0;
	const char *why;

	for (int i = 0; i < 100 && !(cdone && sdone); i++) {
		cdone = cdone || SSL_do_handshake(cl) == 1;
		if (!sdone) {
			enum tls_io io = tls_handshake(srv, &resumed, &why);

			cr_assert(io != TLS_IO_ERROR, "%s", why);
			sdone = io == TLS_IO_OK;
		}
	}
	ERR_clear_error();
	cr_assert(cdone && sdone);
}

/* A server SSL and a client SSL over a non-blocking stream socketpair whose
 * server side has a small send buffer, so a large body fills it often. */
struct stream {
	SSL_CTX *sctx, *cctx;
	SSL *srv, *cl;
	int sv[2];
	unsigned char *body, *got;
};

static void
stream_open(struct stream *t, const struct tls_settings *s, unsigned char key,
    size_t len, unsigned mul, unsigned div)
{
	struct msg_tls_keys keys = { .nkeys = 1 };
	int small = 8192;
	char err[256];

	memset(&keys.keys[0], key, sizeof(keys.keys[0]));
	tls_ticket_keys_set(&keys);
	t->body = malloc(len);
	t->got = malloc(len + 1);
	cr_assert(t->body != NULL && t->got != NULL);
	for (size_t i = 0; i < len; i++)
		t->body[i] = (unsigned char)(i * mul + i / div);
	cr_assert_not_null(t->sctx = tls_ctx_new(s, err, sizeof(err)), "%s", err);
	cr_assert_not_null(t->cctx = SSL_CTX_new(TLS_client_method()));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, t->sv), 0);
	setsockopt(t->sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	cr_assert_not_null(t->srv = tls_conn_new(t->sctx, t->sv[0]));
	cr_assert_not_null(t->cl = SSL_new(t->cctx));
	SSL_set_fd(t->cl, t->sv[1]);
	SSL_set_connect_state(t->cl);
	handshake_both(t->srv, t->cl);
}

static void
stream_close(struct stream *t)
{
	tls_conn_free(t->srv, 1);
	SSL_free(t->cl);
	SSL_CTX_free(t->sctx);
	SSL_CTX_free(t->cctx);
	close(t->sv[0]);
	close(t->sv[1]);
	free(t->body);
	free(t->got);
}

/* Sends body the way conn.c does: up to 64 KiB from the cursor per call,
 * the same bytes again after WANT_WRITE; the client reads only when the
 * server is blocked, so the socket fills again and again. */
static void
send_body(SSL *srv, SSL *cl, const unsigned char *body, size_t len,
    unsigned char *got, size_t *have, int *blocked)
{
	size_t pos = 0, n, want;
	int idle = 0;

	while (pos < len) {
		cr_assert_lt(idle, 1000, "no progress at %zu", pos);
		want = len - pos < 81920 ? len - pos : 81920;
		switch (tls_write(srv, body + pos, want, &n, 0)) {
		case TLS_IO_OK:
			cr_assert_gt(n, 0u);
			pos += n;
			idle = 0;
			break;
		case TLS_IO_WANT_WRITE:
			++*blocked;
			idle = client_drain(cl, got, have, len) > 0 ? 0 : idle + 1;
			break;
		default:
			cr_assert_fail("tls_write failed at %zu", pos);
		}
	}
}

Test(tls_io, large_body_through_a_small_socket_arrives_whole, .init = make_pair,
    .fini = drop_pair)
{
	struct tls_settings s = { cert_path, key_path, "TLSv1.2 TLSv1.3",
	    "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_AES_128_GCM_SHA256" };
	size_t len = 3 * 1024 * 1024 + 12345, have = 0;
	int blocked = 0;
	struct stream t;

	stream_open(&t, &s, 0x5a, len, 7, 4099);
	send_body(t.srv, t.cl, t.body, len, t.got, &have, &blocked);
	/* Everything was taken: all of it must now be readable. */
	client_drain(t.cl, t.got, &have, len);
	cr_expect_gt(blocked, 10, "the socket never filled: the test proves nothing");
	cr_assert_eq(have, len);
	cr_expect(memcmp(t.got, t.body, len) == 0);
	stream_close(&t);
}

/* --- what one request costs in writes ----------------------------------- */

/*
 * The server on one end of a SOCK_SEQPACKET pair, so every write() it
 * makes arrives as one message that the test can count; the client is an
 * SSL on memory BIOs that the test feeds message by message.
 */
struct pair {
	SSL_CTX *sctx, *cctx;
	SSL *srv, *cl;
	BIO *cin, *cout;              /* the client's network side */
	int sv[2];
	int tickets;                  /* sessions the client was handed */
};

static int tickets_seen;

static int
count_ticket(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	(void)sess;
	tickets_seen++;
	return 0;                     /* not kept: the client drops it */
}

/* Sends what the client wrote as one message. */
static void
client_push(struct pair *p)
{
	char buf[16384];
	int n = BIO_read(p->cout, buf, sizeof(buf));

	if (n > 0)
		cr_assert_eq(send(p->sv[1], buf, (size_t)n, 0), n);
}

/* Hands the client every message the server sent; returns how many. */
static int
client_pull(struct pair *p)
{
	static char buf[1 << 18];
	ssize_t n;
	int msgs = 0;

	while ((n = recv(p->sv[1], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		cr_assert_eq(BIO_write(p->cin, buf, (int)n), n);
		msgs++;
	}
	return msgs;
}

/* Up to the client's Finished, which is written but not yet sent. */
static void
pair_open(struct pair *p)
{
	struct tls_settings s = { cert_path, key_path, "TLSv1.2 TLSv1.3",
	    "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_AES_128_GCM_SHA256" };
	struct msg_tls_keys keys = { .nkeys = 1 };
	const char *why;
	char err[256];
	int resumed, i;

	memset(p, 0, sizeof(*p));
	memset(&keys.keys[0], 0x33, sizeof(keys.keys[0]));
	tls_ticket_keys_set(&keys);
	cr_assert_not_null(p->sctx = tls_ctx_new(&s, err, sizeof(err)), "%s", err);
	cr_assert_not_null(p->cctx = SSL_CTX_new(TLS_client_method()));
	SSL_CTX_set_session_cache_mode(p->cctx, SSL_SESS_CACHE_CLIENT);
	SSL_CTX_sess_set_new_cb(p->cctx, count_ticket);
	tickets_seen = 0;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, p->sv), 0);
	cr_assert_not_null(p->srv = tls_conn_new(p->sctx, p->sv[0]));
	cr_assert_not_null(p->cl = SSL_new(p->cctx));
	p->cin = BIO_new(BIO_s_mem());
	p->cout = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(p->cin, -1);
	SSL_set_bio(p->cl, p->cin, p->cout);
	SSL_set_connect_state(p->cl);
	for (i = 0; i < 10 && SSL_do_handshake(p->cl) != 1; i++) {
		client_push(p);
		cr_assert_eq(tls_handshake(p->srv, &resumed, &why), TLS_IO_WANT_READ, "%s", why);
		client_pull(p);
	}
	ERR_clear_error();
	cr_assert_lt(i, 10, "the client never finished its handshake");
}

static void
pair_close(struct pair *p)
{
	tls_conn_free(p->srv, 0);
	SSL_free(p->cl);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	close(p->sv[0]);
	close(p->sv[1]);
}

/* The server side of one request: the handshake's end, the request read. */
static void
pair_request(struct pair *p)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	char got[sizeof(req)];
	const char *why;
	size_t n;
	int resumed;

	cr_assert_eq(SSL_write(p->cl, req, sizeof(req) - 1), (int)sizeof(req) - 1);
	client_push(p);               /* Finished and request: one segment */
	cr_assert_eq(tls_handshake(p->srv, &resumed, &why), TLS_IO_OK, "%s", why);
	cr_expect_eq(client_pull(p), 0, "the ticket was sent on its own");
	cr_assert_eq(tls_read(p->srv, got, sizeof(got), &n), TLS_IO_OK);
	cr_assert_eq(n, sizeof(req) - 1);
}

/* Reads what the client can; returns the plaintext bytes. */
static size_t
client_read(struct pair *p, char *buf, size_t cap)
{
	size_t have = 0, n;

	while (have < cap && SSL_read_ex(p->cl, buf + have, cap - have, &n) == 1)
		have += n;
	ERR_clear_error();
	return have;
}

Test(tls_writes, closing_reply_ticket_and_close_notify_leave_in_one_write,
    .init = make_pair, .fini = drop_pair)
{
	static char reply[1200], got[4096];
	struct pair p;
	size_t n;

	memset(reply, 'r', sizeof(reply));
	pair_open(&p);
	pair_request(&p);
	cr_assert_eq(tls_write(p.srv, reply, sizeof(reply), &n, 1), TLS_IO_OK);
	cr_assert_eq(n, sizeof(reply));
	cr_expect_eq(client_pull(&p), 1, "ticket, reply and close_notify in one write");
	cr_expect_eq(client_read(&p, got, sizeof(got)), sizeof(reply));
	cr_expect(memcmp(got, reply, sizeof(reply)) == 0);
	cr_expect_eq(tickets_seen, 1, "the client got a session ticket");
	cr_expect(SSL_get_shutdown(p.cl) & SSL_RECEIVED_SHUTDOWN, "no close_notify");
	pair_close(&p);
}

Test(tls_writes, first_kept_alive_reply_carries_the_ticket_and_nothing_stays,
    .init = make_pair, .fini = drop_pair)
{
	static char reply[1200], got[4096], more[64];
	struct pair p;
	size_t n;

	memset(reply, 'k', sizeof(reply));
	pair_open(&p);
	pair_request(&p);
	cr_assert_eq(tls_write(p.srv, reply, sizeof(reply), &n, 0), TLS_IO_OK);
	cr_assert_eq(n, sizeof(reply));
	cr_expect_eq(client_pull(&p), 1, "ticket and reply in one write");
	cr_expect_eq(client_read(&p, got, sizeof(got)), sizeof(reply));
	cr_expect_eq(tickets_seen, 1);
	cr_expect_not(SSL_get_shutdown(p.cl) & SSL_RECEIVED_SHUTDOWN);
	/* Waiting for the next request: nothing may be left behind. */
	cr_expect_eq(tls_read(p.srv, more, sizeof(more), &n), TLS_IO_WANT_READ);
	cr_expect_eq(tls_bio_staged(SSL_get_wbio(p.srv)), 0u);
	cr_expect_eq(client_pull(&p), 0);
	pair_close(&p);
}

/* A client that finishes its handshake and waits (for the ticket, or
 * before it asks): the read that finds nothing sends the ticket. */
Test(tls_writes, ticket_leaves_when_no_request_follows_the_handshake,
    .init = make_pair, .fini = drop_pair)
{
	struct pair p;
	const char *why;
	char buf[64];
	size_t n;
	int resumed;

	pair_open(&p);
	client_push(&p);              /* the client's Finished alone */
	cr_assert_eq(tls_handshake(p.srv, &resumed, &why), TLS_IO_OK, "%s", why);
	cr_expect_eq(client_pull(&p), 0);
	cr_assert_eq(tls_read(p.srv, buf, sizeof(buf), &n), TLS_IO_WANT_READ);
	cr_expect_eq(client_pull(&p), 1, "the ticket stayed staged");
	client_read(&p, buf, sizeof(buf));
	cr_expect_eq(tickets_seen, 1);
	pair_close(&p);
}

/* tls_flush is the same for a connection that will not read next. */
Test(tls_writes, flush_sends_the_held_ticket, .init = make_pair, .fini = drop_pair)
{
	struct pair p;
	const char *why;
	char buf[64];
	int resumed;

	pair_open(&p);
	client_push(&p);
	cr_assert_eq(tls_handshake(p.srv, &resumed, &why), TLS_IO_OK, "%s", why);
	cr_assert_eq(tls_flush(p.srv), TLS_IO_OK);
	cr_expect_eq(client_pull(&p), 1);
	client_read(&p, buf, sizeof(buf));
	cr_expect_eq(tickets_seen, 1);
	pair_close(&p);
}

/*
 * A closing body through a small socket: the last call's writev cannot
 * take the staged records and the close_notify, so the reply's last byte
 * is kept back (n = want - 1) until the alert is out; nothing is lost and
 * the client sees the close_notify after the last byte.
 */
Test(tls_writes, closing_body_through_a_full_socket_keeps_its_last_byte_back,
    .init = make_pair, .fini = drop_pair)
{
	struct tls_settings s = { cert_path, key_path, "TLSv1.3", "DEFAULT",
	    "TLS_AES_128_GCM_SHA256" };
	size_t len = 300000 + 7, have = 0, pos = 0, n, want;
	int kept = 0, idle = 0;
	struct stream t;

	stream_open(&t, &s, 0x77, len, 13, 251);
	while (pos < len) {
		cr_assert_lt(idle, 1000, "no progress at %zu", pos);
		want = len - pos < 81920 ? len - pos : 81920;
		switch (tls_write(t.srv, t.body + pos, want, &n, pos + want == len)) {
		case TLS_IO_OK:
			cr_assert_gt(n, 0u);
			kept += pos + want == len && n == want - 1;
			pos += n;
			idle = 0;
			break;
		case TLS_IO_WANT_WRITE:
			idle = client_drain(t.cl, t.got, &have, len + 1) > 0 ? 0 : idle + 1;
			break;
		default:
			cr_assert_fail("tls_write failed at %zu", pos);
		}
	}
	client_drain(t.cl, t.got, &have, len + 1);
	cr_expect_gt(kept, 0, "the close_notify never waited: the test proves nothing");
	cr_assert_eq(have, len);
	cr_expect(memcmp(t.got, t.body, len) == 0);
	cr_expect(SSL_get_shutdown(t.cl) & SSL_RECEIVED_SHUTDOWN, "no close_notify");
	stream_close(&t);
}

/* --- reads that could only find the socket empty ------------------------ */

/* After a read that came back short, the next one in the same turn is not
 * made (bytes sent since stay unseen: they bring an edge, hence a turn);
 * after tls_turn it is. */
Test(tls_reads, short_read_skips_the_next_until_the_next_turn,
    .init = make_pair, .fini = drop_pair)
{
	static const char again[] = "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[256];
	struct pair p;
	size_t n;

	pair_open(&p);
	pair_request(&p);             /* read short, with the Finished */
	cr_assert_eq(SSL_write(p.cl, again, sizeof(again) - 1), (int)sizeof(again) - 1);
	client_push(&p);
	cr_expect_eq(tls_read(p.srv, buf, sizeof(buf), &n), TLS_IO_WANT_READ,
	    "the socket was read again in the same turn");
	tls_turn();
	cr_assert_eq(tls_read(p.srv, buf, sizeof(buf), &n), TLS_IO_OK);
	cr_expect_eq(n, sizeof(again) - 1);
	cr_expect(memcmp(buf, again, n) == 0);
	pair_close(&p);
}

/* The client's FIN without close_notify is an EOF, not a retry. */
Test(tls_reads, peer_close_is_an_eof, .init = make_pair, .fini = drop_pair)
{
	char buf[64];
	struct pair p;
	size_t n;

	pair_open(&p);
	pair_request(&p);
	cr_assert_eq(shutdown(p.sv[1], SHUT_WR), 0);
	tls_turn();
	cr_expect_eq(tls_read(p.srv, buf, sizeof(buf), &n), TLS_IO_EOF);
	pair_close(&p);
}
