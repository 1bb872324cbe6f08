/*
 * OpenSSL 3 glue. Nothing here allocates per request: an SSL per
 * connection (OpenSSL's own), and the context built once per generation.
 *
 * Errors: OpenSSL keeps a per-thread error queue that SSL_get_error()
 * consults, so every failure path here empties it; otherwise the next
 * connection's harmless WANT_READ could be read as a failure.
 */
#include "ipc/base/util.h"
#include "server/tls.h"
#include "server/tls_bio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

static struct msg_tls_keys tls_keys;   /* nkeys == 0: no tickets yet */
/* Fetched once: EVP_aes_256_cbc() would be looked up by name on every
 * ticket sealed or opened, once a handshake. Kept for the process's life. */
static EVP_CIPHER *tls_ticket_cipher;

/* --- session tickets --------------------------------------------------- */

void
tls_ticket_keys_set(const struct msg_tls_keys *k)
{
	if (k->nkeys < 1 || k->nkeys > MSG_TLS_NKEYS)
		return;
	tls_keys = *k;
}

static int
tls_ticket_mac(EVP_MAC_CTX *hctx, const struct msg_tls_key *k)
{
	OSSL_PARAM params[3];

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)k->hmac, sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	return EVP_MAC_CTX_set_params(hctx, params);
}

/*
 * OpenSSL's ticket callback: enc = 1 seals a new ticket with keys[0];
 * enc = 0 finds the key a ticket names. Returns 1 (use it), 2 (use it,
 * and issue a fresh ticket under the current key: it was an older one),
 * 0 (unknown key: full handshake) or -1 (failure).
 */
static int
tls_ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	const struct msg_tls_key *k = NULL;
	uint32_t i;

	(void)ssl;
	if (tls_keys.nkeys == 0 || tls_ticket_cipher == NULL)
		return enc ? -1 : 0;
	if (enc) {
		k = &tls_keys.keys[0];
		memcpy(name, k->name, sizeof(k->name));
		if (RAND_bytes(iv, 16) != 1 ||
		    EVP_EncryptInit_ex(cctx, tls_ticket_cipher, NULL, k->aes, iv) != 1 ||
		    tls_ticket_mac(hctx, k) != 1)
			return -1;
		return 1;
	}
	for (i = 0; i < tls_keys.nkeys && k == NULL; i++)
		if (memcmp(name, tls_keys.keys[i].name, sizeof(k->name)) == 0)
			k = &tls_keys.keys[i];
	if (k == NULL)
		return 0;
	if (EVP_DecryptInit_ex(cctx, tls_ticket_cipher, NULL, k->aes, iv) != 1 ||
	    tls_ticket_mac(hctx, k) != 1)
		return -1;
	return k == &tls_keys.keys[0] ? 1 : 2;
}

/* --- the context ------------------------------------------------------- */

static int
tls_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, h11, sizeof(h11) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;    /* no ALPN, not a failure */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

int
tls_parse_protocols(const char *s, int *min_version, int *max_version)
{
	static const struct { const char *name; int v; } names[] = {
		{ "TLSv1.2", TLS1_2_VERSION }, { "TLSv1.3", TLS1_3_VERSION },
	};
	char word[16];
	size_t n, i;

	*min_version = *max_version = 0;
	for (;;) {
		s += strspn(s, " \t,");
		if (*s == '\0')
			return *min_version == 0 ? -1 : 0;
		n = strcspn(s, " \t,");
		if (n >= sizeof(word))
			return -1;
		memcpy(word, s, n);
		word[n] = '\0';
		s += n;
		for (i = 0; i < nitems(names); i++)
			if (strcasecmp(word, names[i].name) == 0)
				break;
		if (i == nitems(names))
			return -1;
		if (*min_version == 0 || names[i].v < *min_version)
			*min_version = names[i].v;
		if (names[i].v > *max_version)
			*max_version = names[i].v;
	}
}

/* The last OpenSSL reason, for "FILE: message", and an empty queue. */
static const char *
tls_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : "unknown error";
}

/* open() tells "No such file" and "Permission denied" apart; OpenSSL not. */
static int
tls_file_readable(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int
tls_ctx_pair(SSL_CTX *ctx, const struct tls_settings *s, char *err, size_t errlen)
{
	const char *key = s->key != NULL && s->key[0] != '\0' ? s->key : s->certificate;
	time_t na;

	if (tls_file_readable(s->certificate, err, errlen) == -1 ||
	    tls_file_readable(key, err, errlen) == -1)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx, s->certificate) != 1) {
		snprintf(err, errlen, "%s: no PEM certificate: %s", s->certificate, tls_reason());
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			snprintf(err, errlen, "%s: the key does not match the certificate in %s",
			    key, s->certificate);
		} else
			snprintf(err, errlen, "%s: no PEM private key: %s", key, tls_reason());
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: the key does not match the certificate in %s",
		    key, s->certificate);
		return -1;
	}
	if ((na = tls_ctx_not_after(ctx)) != (time_t)-1 && na < time(NULL)) {
		struct tm tm;
		char when[32];

		gmtime_r(&na, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(err, errlen, "%s: the certificate expired at %s", s->certificate, when);
		return -1;
	}
	return 0;
}

static int
tls_ctx_policy(SSL_CTX *ctx, const struct tls_settings *s, char *err, size_t errlen)
{
	int lo, hi;

	if (tls_parse_protocols(s->protocols, &lo, &hi) == -1) {
		snprintf(err, errlen, "tls_protocols: expected TLSv1.2 and/or TLSv1.3, got \"%s\"",
		    s->protocols);
		return -1;
	}
	if (SSL_CTX_set_min_proto_version(ctx, lo) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, hi) != 1) {
		snprintf(err, errlen, "tls_protocols: %s", tls_reason());
		return -1;
	}
	if (SSL_CTX_set_cipher_list(ctx, s->ciphers) != 1) {
		snprintf(err, errlen, "tls_ciphers: no usable cipher in \"%s\"", s->ciphers);
		ERR_clear_error();
		return -1;
	}
	if (SSL_CTX_set_ciphersuites(ctx, s->ciphersuites) != 1) {
		snprintf(err, errlen, "tls_ciphersuites: no usable suite in \"%s\"",
		    s->ciphersuites);
		ERR_clear_error();
		return -1;
	}
	return 0;
}

SSL_CTX *
tls_ctx_new(const struct tls_settings *s, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (tls_ticket_cipher == NULL)
		tls_ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
	if (ctx == NULL || tls_ticket_cipher == NULL) {
		snprintf(err, errlen, "OpenSSL: %s", tls_reason());
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Client cipher preference (Mozilla intermediate): no
	 * SSL_OP_CIPHER_SERVER_PREFERENCE. A peer vanishing without
	 * close_notify is an EOF like any other for HTTP/1.1 framing. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_dh_auto(ctx, 1);
	/* A record in one read() rather than header then body; the worker
	 * reads until WANT_READ anyway, so nothing waits in OpenSSL's buffer
	 * for an edge that will not come. */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* Resumption only through tickets sealed with the supervisor's keys,
	 * which every worker shares; a per-process cache would miss on any
	 * other worker. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"preforkd", 8);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_cb, NULL);
	if (tls_ctx_policy(ctx, s, err, errlen) == -1 ||
	    tls_ctx_pair(ctx, s, err, errlen) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

time_t
tls_ctx_not_after(SSL_CTX *ctx)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	const ASN1_TIME *t;
	struct tm tm;

	if (x == NULL || (t = X509_get0_notAfter(x)) == NULL ||
	    ASN1_TIME_to_tm(t, &tm) != 1)
		return (time_t)-1;
	return timegm(&tm);
}

/* --- connections ------------------------------------------------------- */

SSL *
tls_conn_new(SSL_CTX *ctx, int fd)
{
	SSL *ssl = SSL_new(ctx);
	BIO *b;

	/* One BIO both ways: it batches the records of a body and skips
	 * reads that could only find the socket empty. */
	if (ssl == NULL || (b = tls_bio_new(fd)) == NULL) {
		ERR_clear_error();
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_bio(ssl, b, b);
	SSL_set_accept_state(ssl);
	return ssl;
}

static enum tls_io
tls_error(SSL *ssl, int rc, const char **why)
{
	int e = SSL_get_error(ssl, rc), saved = errno;

	if (why != NULL)
		*why = "";
	switch (e) {
	case SSL_ERROR_WANT_READ:
		return TLS_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		if (why != NULL)
			*why = "closed by peer";
		return TLS_IO_EOF;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (why != NULL)
			*why = saved != 0 ? strerror(saved) : "closed by peer";
		return saved != 0 ? TLS_IO_ERROR : TLS_IO_EOF;
	default:
		if (why != NULL)
			*why = tls_reason();
		else
			ERR_clear_error();
		return TLS_IO_ERROR;
	}
}

/* Sends what the connection's write BIO holds before it waits: what it
 * waits for (WANT_READ) cannot come while our bytes are still staged, so
 * a full socket turns that into WANT_WRITE. */
static enum tls_io
tls_settle(SSL *ssl, enum tls_io io)
{
	if (tls_bio_push(SSL_get_wbio(ssl)) == 0 || io != TLS_IO_WANT_READ)
		return io;
	return errno == EAGAIN || errno == EWOULDBLOCK ? TLS_IO_WANT_WRITE : TLS_IO_ERROR;
}

/*
 * The BIO holds what each step writes. A step that leaves the handshake
 * unfinished sends its flight at once (the client waits for it); the one
 * that finishes it keeps the session ticket back, for the reply's write
 * (tls_write) or the next read that finds nothing (tls_read).
 */
enum tls_io
tls_handshake(SSL *ssl, int *resumed, const char **why)
{
	int rc;

	/* Each step follows an edge: what an earlier one read proves nothing. */
	tls_bio_turn();
	tls_bio_hold(SSL_get_wbio(ssl), 1);
	errno = 0;
	if ((rc = SSL_do_handshake(ssl)) == 1) {
		*resumed = SSL_session_reused(ssl);
		return TLS_IO_OK;
	}
	return tls_settle(ssl, tls_error(ssl, rc, why));
}

enum tls_io
tls_read(SSL *ssl, void *buf, size_t len, size_t *n)
{
	errno = 0;
	if (SSL_read_ex(ssl, buf, len, n) == 1)
		return TLS_IO_OK;
	return tls_settle(ssl, tls_error(ssl, 0, NULL));
}

void
tls_turn(void)
{
	tls_bio_turn();
}

enum tls_io
tls_flush(SSL *ssl)
{
	enum tls_io io = tls_settle(ssl, TLS_IO_WANT_READ);

	return io == TLS_IO_WANT_READ ? TLS_IO_OK : io;
}

/*
 * A closing reply's close_notify, sent after its last record and in the
 * same write (the records before it are staged). Until the alert is out,
 * the last byte of the reply is not reported taken: the connection would
 * otherwise be closed with the reply still in the stage. The next call
 * (that byte offered again) only retries the alert.
 */
static enum tls_io
tls_write_fin(SSL *ssl, size_t len, size_t *n)
{
	enum tls_io io;
	int rc;

	errno = 0;
	if ((rc = SSL_shutdown(ssl)) >= 0) {
		*n = len;
		return TLS_IO_OK;
	}
	/* A failure ends the connection: nothing to keep back for. */
	if ((io = tls_error(ssl, rc, NULL)) != TLS_IO_WANT_WRITE) {
		*n = 0;
		return io;
	}
	*n = len - 1;
	return *n > 0 ? TLS_IO_OK : io;
}

/*
 * Up to TLS_BATCH records, one SSL_write each (partial-write mode seals
 * one record per call). All but the last are staged by the write BIO; the
 * last sends them and itself in one writev. When the socket fills midway,
 * the records before are taken (n says how many bytes) and OpenSSL keeps
 * the refused one: it is the first of the next call, which starts where n
 * ends and offers at least as many bytes, as OpenSSL requires. With fin,
 * the close_notify after the last byte is that last write.
 */
enum tls_io
tls_write(SSL *ssl, const void *buf, size_t len, size_t *n, int fin)
{
	size_t done = 0, k, rec = 0;
	enum tls_io io = TLS_IO_OK;
	BIO *w = SSL_get_wbio(ssl);
	int last;

	/* A ticket the handshake held back leaves with these records. */
	tls_bio_hold(w, 0);
	if (fin && (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN))
		return tls_write_fin(ssl, len, n);
	do {
		k = len - done < TLS_RECORD ? len - done : TLS_RECORD;
		last = done + k == len || ++rec == TLS_BATCH;
		tls_bio_cork(!last || (fin && done + k == len));
		errno = 0;
		if (SSL_write_ex(ssl, (const char *)buf + done, k, &k) != 1) {
			io = tls_error(ssl, 0, NULL);
			break;
		}
		done += k;
	} while (!last && done < len);
	tls_bio_cork(0);
	if (fin && io == TLS_IO_OK && done == len)
		return tls_write_fin(ssl, len, n);
	/* A record cut short (a small max_fragment_length) left the batch
	 * staged with no uncorked write after it. */
	if (fin && io == TLS_IO_OK)
		(void)tls_bio_push(w);
	*n = done;
	/* Taken bytes are reported; a failure after them comes back on the
	 * next call (OpenSSL stays in its error state, or the socket is still
	 * full), with its errno, and its error queue is empty meanwhile. */
	if (done > 0 && io != TLS_IO_OK)
		ERR_clear_error();
	return done > 0 ? TLS_IO_OK : io;
}

int
tls_pending(SSL *ssl)
{
	return SSL_has_pending(ssl);
}

/* Whatever the BIO still holds (a ticket, say) leaves with the alert. */
void
tls_close_notify(SSL *ssl)
{
	BIO *w = SSL_get_wbio(ssl);

	tls_bio_hold(w, 0);
	if (SSL_is_init_finished(ssl) && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN))
		(void)SSL_shutdown(ssl);
	(void)tls_bio_push(w);
	ERR_clear_error();
}

void
tls_conn_free(SSL *ssl, int notify)
{
	if (ssl == NULL)
		return;
	if (notify)
		tls_close_notify(ssl);
	SSL_free(ssl);
}
