/*
 * TLS body writes (issue 16): the write BIO batches the records of one
 * tls_write into one write(), keeps a record the socket refused for the
 * next call, and never reports a reply's last byte taken while ciphertext
 * is still in user space.
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
		switch (tls_write(srv, body + pos, want, &n)) {
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
	unsigned char *body = malloc(len), *got = malloc(len);
	int sv[2], small = 8192, blocked = 0, resumed, cdone = 0, sdone = 0;
	const char *why;
	char err[256];
	SSL_CTX *sctx, *cctx;
	SSL *srv, *cl;

	struct msg_tls_keys keys = { .nkeys = 1 };

	memset(&keys.keys[0], 0x5a, sizeof(keys.keys[0]));
	tls_ticket_keys_set(&keys);
	cr_assert(body != NULL && got != NULL);
	for (size_t i = 0; i < len; i++)
		body[i] = (unsigned char)(i * 7 + i / 4099);
	cr_assert_not_null(sctx = tls_ctx_new(&s, err, sizeof(err)), "%s", err);
	cr_assert_not_null(cctx = SSL_CTX_new(TLS_client_method()));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	cr_assert_not_null(srv = tls_conn_new(sctx, sv[0]));
	cr_assert_not_null(cl = SSL_new(cctx));
	SSL_set_fd(cl, sv[1]);
	SSL_set_connect_state(cl);
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
	send_body(srv, cl, body, len, got, &have, &blocked);
	/* Everything was taken: all of it must now be readable. */
	client_drain(cl, got, &have, len);
	cr_expect_gt(blocked, 10, "the socket never filled: the test proves nothing");
	cr_assert_eq(have, len);
	cr_expect(memcmp(got, body, len) == 0);
	tls_conn_free(srv, 1);
	SSL_free(cl);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	close(sv[0]);
	close(sv[1]);
	free(body);
	free(got);
}
