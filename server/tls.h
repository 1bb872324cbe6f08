/*
 * TLS over OpenSSL 3: the server context, the shared
 * session-ticket keys and the non-blocking I/O conn.c uses instead of
 * read/sendmsg/sendfile on a TLS connection.
 *
 * The supervisor builds the SSL_CTX (it can read a root-only key) before
 * forking, so every worker inherits a ready context; a reload builds a new
 * one for the new generation. Ticket keys live in a process-wide table:
 * the supervisor fills its own before forking (new workers inherit it) and
 * sends every rotation down the channels (tls_ticket_keys_set in workers).
 */
#ifndef PREFORKD_TLS_H
#define PREFORKD_TLS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/ssl.h>

#include "ipc/msg.h"

#define TLS_RECORD 16384          /* plaintext bytes per record written */
#define TLS_BATCH 5               /* records per write(): 64 KiB of body and its head */

struct tls_settings {
	const char *certificate;      /* PEM: the certificate, then its chain */
	const char *key;              /* PEM private key ("" = in the certificate file) */
	const char *protocols;        /* "TLSv1.2 TLSv1.3" */
	const char *ciphers;          /* TLS 1.2 list */
	const char *ciphersuites;     /* TLS 1.3 list */
};

/* Builds a server context: certificate chain and key loaded and checked
 * against each other, protocol range, ciphers, ALPN http/1.1, stateless
 * tickets from the shared keys. Returns NULL with err "FILE: message". */
SSL_CTX *tls_ctx_new(const struct tls_settings *s, char *err, size_t errlen);
/* notAfter of the context's certificate, or (time_t)-1. */
time_t tls_ctx_not_after(SSL_CTX *ctx);
/* Parses "TLSv1.2 TLSv1.3" into a version range; -1 for anything else. */
int tls_parse_protocols(const char *s, int *min_version, int *max_version);

/* Replaces this process's ticket keys (k->keys[0] encrypts new tickets;
 * every one decrypts). Invalid counts are ignored. */
void tls_ticket_keys_set(const struct msg_tls_keys *k);

enum tls_io {
	TLS_IO_OK,
	TLS_IO_WANT_READ,             /* retry once the socket is readable */
	TLS_IO_WANT_WRITE,            /* ... writable */
	TLS_IO_EOF,                   /* close_notify, or the peer closed */
	TLS_IO_ERROR,
};

/* A server-side SSL over the connected socket fd; NULL when out of memory. */
SSL *tls_conn_new(SSL_CTX *ctx, int fd);
/*
 * Drives the handshake. TLS_IO_OK once done (*resumed says whether a
 * ticket was accepted); TLS_IO_ERROR and the reason in *why otherwise.
 * What the finishing step wrote (the session ticket) is held back, to
 * share the first reply's write: the caller must then go on to tls_read
 * or tls_write, or call tls_flush before it waits for anything.
 */
enum tls_io tls_handshake(SSL *ssl, int *resumed, const char **why);
/* Plaintext in; *n bytes read when TLS_IO_OK. Any other result first
 * sends what is held back; WANT_WRITE when the socket cannot take it. */
enum tls_io tls_read(SSL *ssl, void *buf, size_t len, size_t *n);
/*
 * Plaintext out, sealed TLS_RECORD bytes a record and sent up to
 * TLS_BATCH records per write(); *n bytes taken when OK, possibly fewer
 * than len (then call again: only WANT_WRITE says the socket is full).
 * Taken bytes are with the kernel once a call has taken all it was
 * offered. The next call after WANT_* or a short OK must offer the bytes
 * that follow the taken ones again (at least as many as were left), with
 * the same fin. fin: these bytes end the connection's output, and the
 * close_notify goes out in the same write as the last of them.
 */
enum tls_io tls_write(SSL *ssl, const void *buf, size_t len, size_t *n, int fin);
/* The worker starts a connection's turn (conn_run): input may have come
 * since a read found the socket empty. Until then such a read is not
 * repeated: the next one reports WANT_READ without a syscall. */
void tls_turn(void);
/* Sends what the handshake held back: TLS_IO_OK once it is with the
 * kernel, TLS_IO_WANT_WRITE while the socket is full. */
enum tls_io tls_flush(SSL *ssl);
/* True when decrypted input waits inside OpenSSL (no socket edge will come). */
int tls_pending(SSL *ssl);
/* Sends close_notify once (before a half-close), if the handshake is done,
 * with anything still held back. */
void tls_close_notify(SSL *ssl);
/* Sends close_notify when the handshake finished (best effort, never
 * blocks) and frees ssl. */
void tls_conn_free(SSL *ssl, int notify);

#endif
