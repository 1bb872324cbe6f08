/* PROXY protocol v1/v2 parsing and the proxy_protocol_from CIDR lists. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "server/proxy_proto.h"

#define SIG "\r\n\r\n\0\r\nQUIT\n"

struct pp_case {
	const char *in;
	size_t len;          /* 0: strlen(in) */
	int want;            /* parse result for the whole input */
	int local;
	const char *src;     /* expected client address, when want > 0 && !local */
	int port;
	const char *note;
};

#define V1(s, w, l, a, p, n) { s, 0, w, l, a, p, n }
#define V2(s, w, l, a, p, n) { s, sizeof(s) - 1, w, l, a, p, n }

static const struct pp_case pp_cases[] = {
	V1("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n", 45, 0, "192.0.2.7", 56324, "v1 tcp4"),
	V1("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", 44, 0, "2001:db8::1", 1, "v1 tcp6"),
	V1("PROXY UNKNOWN\r\n", 15, 1, NULL, 0, "v1 unknown"),
	V1("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", 35, 1, NULL, 0, "v1 unknown, addresses ignored"),
	V1("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n", 45, 0,
	    "192.0.2.7", 56324, "request after the header is not consumed"),
	V1("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443", 0, 0, NULL, 0, "v1 incomplete"),
	V1("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r", 0, 0, NULL, 0, "v1 CR only"),
	V1("PROX", 0, 0, NULL, 0, "v1 signature prefix"),
	V1("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\n", -1, 0, NULL, 0, "v1 LF without CR"),
	V1("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\rX", -1, 0, NULL, 0, "v1 CR then junk"),
	V1("PROXY TCP4 192.0.2.7 198.51.100.1 65536 443\r\n", -1, 0, NULL, 0, "v1 port too big"),
	V1("PROXY TCP4 192.0.2.7 198.51.100.1 0443 443\r\n", -1, 0, NULL, 0, "v1 leading zero"),
	V1("PROXY TCP4 192.0.2.7 198.51.100.1 -1 443\r\n", -1, 0, NULL, 0, "v1 negative port"),
	V1("PROXY TCP4 192.0.2.7  198.51.100.1 1 443\r\n", -1, 0, NULL, 0, "v1 double space"),
	V1("PROXY TCP4 192.0.2.7 198.51.100.1 1 443 \r\n", -1, 0, NULL, 0, "v1 trailing space"),
	V1("PROXY TCP4 192.0.2.7 198.51.100.1 1\r\n", -1, 0, NULL, 0, "v1 field missing"),
	V1("PROXY TCP4 192.0.2.7 198.51.100.1 1 2 3\r\n", -1, 0, NULL, 0, "v1 field extra"),
	V1("PROXY TCP4 2001:db8::1 198.51.100.1 1 2\r\n", -1, 0, NULL, 0, "v1 v6 address in TCP4"),
	V1("PROXY TCP6 192.0.2.7 2001:db8::2 1 2\r\n", -1, 0, NULL, 0, "v1 v4 address in TCP6"),
	V1("PROXY TCP4 192.0.2.256 198.51.100.1 1 2\r\n", -1, 0, NULL, 0, "v1 bad octet"),
	V1("PROXY UDP4 192.0.2.7 198.51.100.1 1 2\r\n", -1, 0, NULL, 0, "v1 unknown protocol"),
	V1("PROXY \r\n", -1, 0, NULL, 0, "v1 empty"),
	V1("PROXY UNKNOWNX\r\n", -1, 0, NULL, 0, "v1 not quite UNKNOWN"),
	V1("proxy TCP4 192.0.2.7 198.51.100.1 1 2\r\n", -1, 0, NULL, 0, "v1 lower case"),
	V1("GET / HTTP/1.1\r\n\r\n", -1, 0, NULL, 0, "plain HTTP"),
	V1("PROXY TCP4 192.0.2.7\t198.51.100.1 1 2\r\n", -1, 0, NULL, 0, "v1 control byte"),
	V1("\x16\x03\x01\x02\x00", -1, 0, NULL, 0, "TLS ClientHello instead"),
	V2(SIG "\x21\x11\x00\x0c" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01" "\xdc\x04\x01\xbb",
	    28, 0, "192.0.2.7", 56324, "v2 inet stream"),
	V2(SIG "\x21\x21\x00\x24" "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02" "\x00\x50\x01\xbb",
	    52, 0, "2001:db8::1", 80, "v2 inet6 stream"),
	V2(SIG "\x20\x00\x00\x00", 16, 1, NULL, 0, "v2 LOCAL, empty"),
	V2(SIG "\x20\x11\x00\x0c" "\0\0\0\0\0\0\0\0\0\0\0\0", 28, 1, NULL, 0, "v2 LOCAL with addresses"),
	V2(SIG "\x21\x00\x00\x03" "abc", 19, 1, NULL, 0, "v2 PROXY UNSPEC: skipped"),
	V2(SIG "\x21\x11\x00\x13" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01" "\xdc\x04\x01\xbb"
	    "\x04\x00\x04" "pad!", 35, 0, "192.0.2.7", 56324, "v2 one TLV (NOOP)"),
	V2(SIG "\x21\x11\x00\x14" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01" "\xdc\x04\x01\xbb"
	    "\x01\x00\x02" "h2" "\x04\x00\x00", 36, 0, "192.0.2.7", 56324, "v2 two TLVs"),
	V2(SIG "\x21\x11\x00\x0e" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01" "\xdc\x04\x01\xbb"
	    "\x04\x00", -1, 0, NULL, 0, "v2 TLV header cut"),
	V2(SIG "\x21\x11\x00\x10" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01" "\xdc\x04\x01\xbb"
	    "\x04\x00\x05" "x", -1, 0, NULL, 0, "v2 TLV longer than the header"),
	V2(SIG "\x21\x11\x00\x08" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01", -1, 0, NULL, 0,
	    "v2 inet body too short"),
	V2(SIG "\x21\x21\x00\x0c" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01" "\xdc\x04\x01\xbb",
	    -1, 0, NULL, 0, "v2 inet6 body too short"),
	V2(SIG "\x11\x11\x00\x0c", -1, 0, NULL, 0, "v2 version 1 nibble"),
	V2(SIG "\x22\x11\x00\x0c", -1, 0, NULL, 0, "v2 command 2"),
	V2(SIG "\x21\x41\x00\x0c", -1, 0, NULL, 0, "v2 family 4"),
	V2(SIG "\x21\x13\x00\x0c", -1, 0, NULL, 0, "v2 protocol 3"),
	V2(SIG "\x21\x01\x00\x00", -1, 0, NULL, 0, "v2 UNSPEC family with a protocol"),
	V2(SIG "\x21\x11\xff\xff", -1, 0, NULL, 0, "v2 longer than PROXY_HDR_MAX"),
	V2(SIG "\x21\x11\x00\x0c" "\xc0\x00", 0, 0, NULL, 0, "v2 incomplete body"),
	V2(SIG "\x21", 0, 0, NULL, 0, "v2 fixed part incomplete"),
	V2("\r\n\r\n\0\r\nQUIX\n", -1, 0, NULL, 0, "v2 bad signature"),
	V2("\r\n\r\n\0", 0, 0, NULL, 0, "v2 signature prefix"),
	V2("\r\nGET", -1, 0, NULL, 0, "CRLF then not the signature"),
};

static size_t
pp_len(const struct pp_case *c)
{
	return c->len != 0 ? c->len : strlen(c->in);
}

static void
pp_check_addr(const struct pp_case *c, const struct proxy_result *r)
{
	char buf[64];
	const void *a;
	int port;

	cr_assert_eq(r->local, c->local, "%s: local", c->note);
	if (c->local)
		return;
	if (r->src.sa.sa_family == AF_INET) {
		a = &r->src.in.sin_addr;
		port = ntohs(r->src.in.sin_port);
	} else {
		cr_assert_eq(r->src.sa.sa_family, AF_INET6, "%s: family", c->note);
		a = &r->src.in6.sin6_addr;
		port = ntohs(r->src.in6.sin6_port);
	}
	cr_assert_not_null(inet_ntop(r->src.sa.sa_family, a, buf, sizeof(buf)));
	cr_expect_str_eq(buf, c->src, "%s: address", c->note);
	cr_expect_eq(port, c->port, "%s: port", c->note);
}

Test(proxy_proto, table)
{
	for (size_t i = 0; i < sizeof(pp_cases) / sizeof(pp_cases[0]); i++) {
		const struct pp_case *c = &pp_cases[i];
		size_t len = pp_len(c);
		/* A heap copy of exactly len bytes: ASan sees any overread. */
		uint8_t *b = malloc(len);
		struct proxy_result r;
		int got;

		cr_assert_not_null(b);
		memcpy(b, c->in, len);
		got = proxy_parse(b, len, &r);
		cr_expect_eq(got, c->want, "%s: got %d, want %d", c->note, got, c->want);
		if (got > 0 && got == c->want)
			pp_check_addr(c, &r);
		free(b);
	}
}

/* Every strict prefix of a valid header is "need more", never an error or
 * an early success; the whole of it, fed byte by byte, completes once. */
Test(proxy_proto, byte_by_byte)
{
	for (size_t i = 0; i < sizeof(pp_cases) / sizeof(pp_cases[0]); i++) {
		const struct pp_case *c = &pp_cases[i];
		struct proxy_result r;

		if (c->want <= 0)
			continue;
		for (size_t n = 1; n < (size_t)c->want; n++) {
			uint8_t *b = malloc(n);

			cr_assert_not_null(b);
			memcpy(b, c->in, n);
			cr_expect_eq(proxy_parse(b, n, &r), 0, "%s: prefix of %zu", c->note, n);
			free(b);
		}
		cr_expect_eq(proxy_parse((const uint8_t *)c->in, (size_t)c->want, &r), c->want,
		    "%s: complete", c->note);
	}
}

/* Once a prefix is invalid, every longer input is too: the connection can
 * be refused at its first wrong byte. */
Test(proxy_proto, invalid_stays_invalid)
{
	for (size_t i = 0; i < sizeof(pp_cases) / sizeof(pp_cases[0]); i++) {
		const struct pp_case *c = &pp_cases[i];
		size_t len = pp_len(c), first = 0;
		struct proxy_result r;

		for (size_t n = 1; n <= len; n++) {
			int got = proxy_parse((const uint8_t *)c->in, n, &r);

			if (got == -1 && first == 0)
				first = n;
			if (first != 0)
				cr_expect_eq(got, -1, "%s: %zu after failing at %zu", c->note, n, first);
		}
	}
}

Test(proxy_proto, v1_bounded)
{
	char line[200];
	struct proxy_result r;

	/* 107 bytes without a CRLF can never be a v1 header. */
	memset(line, 'A', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	cr_expect_eq(proxy_parse((const uint8_t *)line, 106, &r), 0);
	cr_expect_eq(proxy_parse((const uint8_t *)line, 107, &r), -1);
	/* The longest allowed line is exactly 107 bytes with its CRLF. */
	memcpy(line + 105, "\r\n", 2);
	cr_expect_eq(proxy_parse((const uint8_t *)line, 107, &r), 107);
	memcpy(line + 105, "A\r\n", 3);
	cr_expect_eq(proxy_parse((const uint8_t *)line, 108, &r), -1);
}

Test(proxy_proto, v2_largest)
{
	static uint8_t b[PROXY_HDR_MAX + 1];
	size_t body = PROXY_HDR_MAX - PROXY_V2_FIXED;
	struct proxy_result r;

	memcpy(b, SIG "\x20\x00", 14);
	b[14] = (uint8_t)(body >> 8);
	b[15] = (uint8_t)body;
	cr_expect_eq(proxy_parse(b, PROXY_HDR_MAX, &r), PROXY_HDR_MAX);
	cr_expect_eq(r.local, 1);
	body++;
	b[14] = (uint8_t)(body >> 8);
	b[15] = (uint8_t)body;
	cr_expect_eq(proxy_parse(b, 16, &r), -1);
}

/* UNIX (family 3): a 216-byte block, kept as local (no address to log);
 * a TLV may follow it, a shorter block is invalid. */
Test(proxy_proto, v2_unix)
{
	static uint8_t b[PROXY_V2_FIXED + 216 + 3];
	struct proxy_result r;

	memcpy(b, SIG "\x21\x31\x00\xdb", 16);
	memcpy(b + PROXY_V2_FIXED + 216, "\x04\x00\x00", 3);
	cr_expect_eq(proxy_parse(b, sizeof(b), &r), (int)sizeof(b));
	cr_expect_eq(r.local, 1);
	cr_expect_eq(r.version, 2);
	b[15] = 215;
	cr_expect_eq(proxy_parse(b, PROXY_V2_FIXED + 215, &r), -1);
}

static int
cidr_has(const char *cidr, const char *addr)
{
	struct proxy_cidr c;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	cr_assert_eq(proxy_cidr_parse(cidr, &c), 0, "%s", cidr);
	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1)
		return proxy_cidr_match(&c, 1, (struct sockaddr *)&s4);
	cr_assert_eq(inet_pton(AF_INET6, addr, &s6.sin6_addr), 1, "%s", addr);
	return proxy_cidr_match(&c, 1, (struct sockaddr *)&s6);
}

Test(proxy_proto, cidr)
{
	struct proxy_cidr c;

	cr_expect(cidr_has("127.0.0.1/8", "127.0.0.2"));
	cr_expect(cidr_has("127.0.0.0/8", "127.255.255.255"));
	cr_expect(!cidr_has("127.0.0.0/8", "128.0.0.1"));
	cr_expect(cidr_has("10.1.2.3", "10.1.2.3"));
	cr_expect(!cidr_has("10.1.2.3", "10.1.2.4"));
	cr_expect(cidr_has("10.0.0.0/9", "10.127.0.1"));
	cr_expect(!cidr_has("10.0.0.0/9", "10.128.0.1"));
	cr_expect(cidr_has("0.0.0.0/0", "203.0.113.9"));
	cr_expect(cidr_has("::1", "::1"));
	cr_expect(!cidr_has("::1", "::2"));
	cr_expect(cidr_has("2001:db8::/32", "2001:db8:ffff::1"));
	cr_expect(!cidr_has("2001:db8::/32", "2001:db9::1"));
	cr_expect(cidr_has("127.0.0.0/8", "::ffff:127.0.0.5"), "v4-mapped counts as v4");
	cr_expect(!cidr_has("::1", "127.0.0.1"));
	cr_expect_eq(proxy_cidr_parse("10.0.0.0/33", &c), -1);
	cr_expect_eq(proxy_cidr_parse("::/129", &c), -1);
	cr_expect_eq(proxy_cidr_parse("10.0.0.0/", &c), -1);
	cr_expect_eq(proxy_cidr_parse("10.0.0.0/+8", &c), -1);
	cr_expect_eq(proxy_cidr_parse("10.0.0.0/8x", &c), -1);
	cr_expect_eq(proxy_cidr_parse("localhost", &c), -1);
	cr_expect_eq(proxy_cidr_parse("", &c), -1);
	cr_expect_eq(proxy_cidr_parse("/8", &c), -1);
}
