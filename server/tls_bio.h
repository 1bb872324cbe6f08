/*
 * The write side of a TLS connection (tls.c only): a BIO over the socket
 * that can gather the records of several SSL_write calls and hand them to
 * the kernel in one writev, so a large body costs a write() per batch of
 * records rather than one per 16 KiB record.
 *
 * While corked, records go to a per-process staging buffer; the first write
 * while uncorked (the batch's last record, an alert, a handshake flight)
 * sends what is staged first, then itself. A record the socket cannot take
 * is refused with the retry flag, so OpenSSL keeps it and its SSL_write
 * reports WANT_WRITE, exactly as with a plain socket BIO. Staged bytes the
 * socket did not take stay with the BIO that wrote them until its next
 * write or its end; meanwhile other connections write straight through.
 */
#ifndef PREFORKD_TLS_BIO_H
#define PREFORKD_TLS_BIO_H

#include <openssl/bio.h>

/* A write BIO over the connected socket fd (not closed with it); NULL
 * when out of memory. */
BIO *tls_bio_new(int fd);
/* on != 0: the records written next are staged, not sent. */
void tls_bio_cork(int on);
/* Bytes this BIO staged that the socket has not taken yet. */
size_t tls_bio_staged(BIO *b);

#endif
