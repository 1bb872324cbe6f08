/*
 * The socket BIO of a TLS connection (tls.c only). Its write side can
 * gather the records of several SSL_write calls and hand them to the
 * kernel in one writev, so a large body costs a write() per batch of
 * records rather than one per 16 KiB record. Its read side skips the
 * read() that could only find the socket empty (tls_bio_turn).
 *
 * While corked, records go to a per-process staging buffer; the first write
 * while uncorked (the batch's last record, an alert, a handshake flight)
 * sends what is staged first, then itself. A record the socket cannot take
 * is refused with the retry flag, so OpenSSL keeps it and its SSL_write
 * reports WANT_WRITE, exactly as with a plain socket BIO. Staged bytes the
 * socket did not take stay with the BIO that wrote them until its next
 * write or its end; meanwhile other connections write straight through.
 *
 * A held BIO (tls_bio_hold) stages across SSL calls and flushes too, so
 * the end of a handshake, a reply and a close_notify can leave together.
 */
#ifndef PREFORKD_TLS_BIO_H
#define PREFORKD_TLS_BIO_H

#include <openssl/bio.h>

/* A BIO over the connected socket fd (not closed with it); NULL when out
 * of memory. */
BIO *tls_bio_new(int fd);
/* A new turn of the worker's loop: input may have come since any read
 * found a socket empty, so the next read of every BIO asks the kernel. */
void tls_bio_turn(void);
/* on != 0: the records written next are staged, not sent. */
void tls_bio_cork(int on);
/*
 * on != 0: everything b writes is staged and its flushes are answered
 * without sending, across SSL calls, until tls_bio_hold(b, 0) (the
 * staged bytes stay, and the next uncorked write sends them) or
 * tls_bio_push(b). So a handshake's session ticket, the reply and a
 * close_notify can share one write. The holder must end the hold before
 * the connection waits for anything: one BIO holds at a time.
 */
void tls_bio_hold(BIO *b, int on);
/* Ends b's hold and sends what it staged: 0 once all is with the kernel,
 * -1 with errno (EAGAIN: the socket is full; the rest stays staged). */
int tls_bio_push(BIO *b);
/* Bytes this BIO staged that the socket has not taken yet. */
size_t tls_bio_staged(BIO *b);

#endif
