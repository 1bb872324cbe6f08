/*
 * The PROXY protocol (HAProxy's spec, versions 1 and 2) as a pure parser,
 * plus the CIDR lists that say which peers may send it.
 *
 * proxy_parse() looks at the bytes received so far (the connection peeks,
 * so nothing after the header is ever consumed: a TLS handshake or the
 * request that follows stays in the socket) and says: need more, invalid,
 * or complete with the header's length. It decides as early as it can, so
 * a peer sending garbage is refused at its first wrong byte, and it never
 * accepts a header longer than PROXY_HDR_MAX.
 */
#ifndef PREFORKD_PROXY_PROTO_H
#define PREFORKD_PROXY_PROTO_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROXY_V1_MAX 107          /* the spec's bound, CRLF included */
#define PROXY_V2_FIXED 16         /* signature, version/command, family, length */
#define PROXY_HDR_MAX 1024        /* v2 with TLVs; longer ones are refused */
#define PROXY_FROM_MAX 16         /* CIDRs in proxy_protocol_from */

struct proxy_result {
	int local;                    /* v2 LOCAL or v1 UNKNOWN: keep the peer address */
	int version;                  /* 1 or 2 */
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} src;                        /* the client, when !local */
};

/* Returns the header length (> 0) and fills *res when buf starts with a
 * complete valid header, 0 when the bytes so far are a valid prefix of
 * one, -1 when they can never become one. */
int proxy_parse(const uint8_t *buf, size_t len, struct proxy_result *res);

/* Reads a header off the non-blocking socket fd: peeks, and takes exactly
 * the header's bytes once it is complete. Returns its length (*res
 * filled), 0 when more must arrive, -1 when the connection must close
 * (invalid, too long, EOF or an error; peer_done: the peer has shut down
 * its side, so an incomplete header stays incomplete). */
int proxy_recv(int fd, int peer_done, struct proxy_result *res);

struct proxy_cidr {
	int family;                   /* AF_INET or AF_INET6 */
	int bits;
	uint8_t addr[16];             /* network order, host bits cleared */
};

/* Parses "10.0.0.0/8", "::1", "192.168.1.7" (a host). 0 or -1. */
int proxy_cidr_parse(const char *s, struct proxy_cidr *out);
/* Whether sa (AF_INET, AF_INET6; v4-mapped v6 counts as v4) is in one of
 * the n CIDRs. */
int proxy_cidr_match(const struct proxy_cidr *list, int n, const struct sockaddr *sa);

#endif
