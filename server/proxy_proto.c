#include "server/proxy_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t proxy_v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char proxy_v1_sig[] = "PROXY ";

/* --- version 1: one text line ----------------------------------------- */

/* Copies the next space- or CR-terminated token of line (at *pos) into
 * out; 0, or -1 when it is empty or too long. */
static int
v1_token(const char *line, size_t end, size_t *pos, char *out, size_t outlen)
{
	size_t n = 0;

	while (*pos + n < end && line[*pos + n] != ' ')
		n++;
	if (n == 0 || n >= outlen)
		return -1;
	memcpy(out, line + *pos, n);
	out[n] = '\0';
	*pos += n + (*pos + n < end); /* past the space */
	return 0;
}

/* A decimal port without sign or leading zero. */
static int
v1_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0') || strlen(s) > 5)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* "TCP4 SRC DST SPORT DPORT" or "TCP6 ...", the CRLF at end excluded. */
static int
v1_fields(const char *line, size_t end, struct proxy_result *res)
{
	char proto[8], src[48], dst[48], sport[8], dport[8];
	struct in6_addr a6;
	struct in_addr a4;
	uint16_t sp, dp;
	size_t pos = 0;
	int v6;

	if (v1_token(line, end, &pos, proto, sizeof(proto)) == -1 ||
	    v1_token(line, end, &pos, src, sizeof(src)) == -1 ||
	    v1_token(line, end, &pos, dst, sizeof(dst)) == -1 ||
	    v1_token(line, end, &pos, sport, sizeof(sport)) == -1 ||
	    v1_token(line, end, &pos, dport, sizeof(dport)) == -1 || pos != end ||
	    line[end - 1] == ' ')
		return -1;
	if (strcmp(proto, "TCP4") != 0 && strcmp(proto, "TCP6") != 0)
		return -1;
	v6 = proto[3] == '6';
	if (v1_port(sport, &sp) == -1 || v1_port(dport, &dp) == -1)
		return -1;
	if (v6 ? inet_pton(AF_INET6, dst, &a6) != 1 : inet_pton(AF_INET, dst, &a4) != 1)
		return -1;
	if (v6) {
		if (inet_pton(AF_INET6, src, &res->src.in6.sin6_addr) != 1)
			return -1;
		res->src.in6.sin6_family = AF_INET6;
		res->src.in6.sin6_port = htons(sp);
	} else {
		if (inet_pton(AF_INET, src, &res->src.in.sin_addr) != 1)
			return -1;
		res->src.in.sin_family = AF_INET;
		res->src.in.sin_port = htons(sp);
	}
	return 0;
}

static int
proxy_v1(const uint8_t *buf, size_t len, struct proxy_result *res)
{
	const char *line = (const char *)buf + sizeof(proxy_v1_sig) - 1;
	size_t i, end;

	for (i = sizeof(proxy_v1_sig) - 1; i < len && i < PROXY_V1_MAX; i++) {
		if (buf[i] == '\r')
			break;
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return -1;
	}
	if (i == len)
		return i < PROXY_V1_MAX ? 0 : -1;
	if (i >= PROXY_V1_MAX - 1)
		return -1;
	if (i + 1 == len)
		return 0;
	if (buf[i + 1] != '\n')
		return -1;
	end = i - (sizeof(proxy_v1_sig) - 1);
	memset(res, 0, sizeof(*res));
	res->version = 1;
	if (end >= 7 && memcmp(line, "UNKNOWN", 7) == 0 && (end == 7 || line[7] == ' '))
		res->local = 1;
	else if (v1_fields(line, end, res) == -1)
		return -1;
	return (int)i + 2;
}

/* --- version 2: binary ------------------------------------------------- */

/* Every TLV inside [p, p + n) must fit; their content is not used. */
static int
v2_tlvs(const uint8_t *p, size_t n)
{
	size_t off = 0, l;

	while (off < n) {
		if (n - off < 3)
			return -1;
		l = ((size_t)p[off + 1] << 8) | p[off + 2];
		if (n - off - 3 < l)
			return -1;
		off += 3 + l;
	}
	return 0;
}

/*
 * The v2 address block per family (spec §2.2, the high nibble of byte 13):
 * its length, and where the source address and port sit in it and in the
 * sockaddr they go to. UNIX (3) has a block but no address worth logging.
 */
static const struct v2_family {
	sa_family_t af;           /* AF_UNSPEC: keep the peer address */
	uint8_t alen;             /* the block */
	uint8_t addr_len;
	uint8_t port_at;          /* in the block; the address starts it */
	uint8_t sa_addr, sa_port; /* offsets in struct sockaddr_in / _in6 */
} v2_families[] = {
	[1] = { AF_INET, 12, 4, 8, offsetof(struct sockaddr_in, sin_addr),
	        offsetof(struct sockaddr_in, sin_port) },
	[2] = { AF_INET6, 36, 16, 32, offsetof(struct sockaddr_in6, sin6_addr),
	        offsetof(struct sockaddr_in6, sin6_port) },
	[3] = { AF_UNSPEC, 216, 0, 0, 0, 0 },
};

static int
v2_address(const uint8_t *body, size_t blen, int fam, struct proxy_result *res)
{
	const struct v2_family *f;
	char *sa = (char *)&res->src;

	if (fam < 1 || fam > 3) {
		res->local = 1;       /* UNSPEC: the body is not ours to read */
		return 0;
	}
	f = &v2_families[fam];
	if (blen < f->alen)
		return -1;
	if (f->af == AF_UNSPEC)
		res->local = 1;
	else {
		res->src.sa.sa_family = f->af;
		memcpy(sa + f->sa_addr, body, f->addr_len);
		memcpy(sa + f->sa_port, body + f->port_at, 2);
	}
	return v2_tlvs(body + f->alen, blen - f->alen);
}

static int
proxy_v2(const uint8_t *buf, size_t len, struct proxy_result *res)
{
	size_t n = len < 12 ? len : 12, blen;
	int cmd, fam, proto;

	if (memcmp(buf, proxy_v2_sig, n) != 0)
		return -1;
	if (len > 12 && ((buf[12] >> 4) != 2 || (buf[12] & 0x0f) > 1))
		return -1;
	if (len > 13 && ((buf[13] >> 4) > 3 || (buf[13] & 0x0f) > 2))
		return -1;
	if (len < PROXY_V2_FIXED)
		return 0;
	blen = ((size_t)buf[14] << 8) | buf[15];
	if (PROXY_V2_FIXED + blen > PROXY_HDR_MAX)
		return -1;
	if (len < PROXY_V2_FIXED + blen)
		return 0;
	cmd = buf[12] & 0x0f;
	fam = buf[13] >> 4;
	proto = buf[13] & 0x0f;
	memset(res, 0, sizeof(*res));
	res->version = 2;
	if (cmd == 0)
		res->local = 1;       /* LOCAL: the proxy's own health check */
	else if ((fam == 0) != (proto == 0) ||
	    v2_address(buf + PROXY_V2_FIXED, blen, fam, res) == -1)
		return -1;
	return (int)(PROXY_V2_FIXED + blen);
}

int
proxy_parse(const uint8_t *buf, size_t len, struct proxy_result *res)
{
	size_t n;

	if (len == 0)
		return 0;
	if (buf[0] == proxy_v2_sig[0])
		return proxy_v2(buf, len, res);
	n = len < sizeof(proxy_v1_sig) - 1 ? len : sizeof(proxy_v1_sig) - 1;
	if (memcmp(buf, proxy_v1_sig, n) != 0)
		return -1;
	if (len == n)
		return 0;
	return proxy_v1(buf, len, res);
}

/* --- off the socket ---------------------------------------------------- */

int
proxy_recv(int fd, int peer_done, struct proxy_result *res)
{
	uint8_t buf[PROXY_HDR_MAX];
	ssize_t n;
	int h;

	do
		n = recv(fd, buf, sizeof(buf), MSG_PEEK);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return n == -1 && errno == EAGAIN ? 0 : -1;
	if ((h = proxy_parse(buf, (size_t)n, res)) == 0)
		return peer_done || n == (ssize_t)sizeof(buf) ? -1 : 0;
	if (h < 0)
		return -1;
	/* Exactly the header: what follows is the request's or TLS's. */
	do
		n = recv(fd, buf, (size_t)h, 0);
	while (n == -1 && errno == EINTR);
	return n == h ? h : -1;
}

/* --- who may send it --------------------------------------------------- */

int
proxy_cidr_parse(const char *s, struct proxy_cidr *out)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hl = slash != NULL ? (size_t)(slash - s) : strlen(s);
	char *end;
	long bits;
	int i, max;

	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, host, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -1;
	max = out->family == AF_INET ? 32 : 128;
	bits = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0' || bits > max)
			return -1;
	}
	out->bits = (int)bits;
	for (i = 0; i < max / 8; i++) {
		int keep = out->bits - i * 8;

		if (keep <= 0)
			out->addr[i] = 0;
		else if (keep < 8)
			out->addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
	return 0;
}

static int
cidr_in(const struct proxy_cidr *c, int family, const uint8_t *a)
{
	int i, full = c->bits / 8, rest = c->bits % 8;

	if (c->family != family)
		return 0;
	for (i = 0; i < full; i++)
		if (a[i] != c->addr[i])
			return 0;
	return rest == 0 || (a[full] & (uint8_t)(0xff << (8 - rest))) == c->addr[full];
}

int
proxy_cidr_match(const struct proxy_cidr *list, int n, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a;
	int family = sa->sa_family, i;

	if (family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			a += 12;
			family = AF_INET;
		}
	} else
		return 0;
	for (i = 0; i < n; i++)
		if (cidr_in(&list[i], family, a))
			return 1;
	return 0;
}
