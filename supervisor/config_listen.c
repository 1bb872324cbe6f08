/*
 * Listen addresses: "HOST:PORT", "[V6]:PORT", "*:PORT" or "PORT", then
 * optional flags ("tls", "proxy_protocol", "cc=NAME"). A name resolves to every
 * address it has, like nginx; the supervisor binds them later.
 */
#include "supervisor/config_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

/*
 * Splits "HOST:PORT", "[V6]:PORT", "*:PORT" or "PORT" into a copy of the
 * host and a pointer to the port inside v. *v6 says the host was bracketed.
 * A bare port or "*" means every IPv4 address, like nginx.
 */
static int
config_listen_split(const char *v, char *host, size_t hostlen, const char **port,
    bool *v6, char *msg, size_t msglen)
{
	const char *colon, *p;
	size_t hl;

	*v6 = v[0] == '[';
	if (*v6) {
		if ((p = strchr(v, ']')) == NULL || p[1] != ':') {
			config_errf(msg, msglen, "expected [IPv6]:PORT");
			return -1;
		}
		v++;
		hl = (size_t)(p - v);
		colon = p + 1;
	} else if ((colon = strrchr(v, ':')) == NULL) {
		strlcpy(host, "0.0.0.0", hostlen);
		*port = v;
		return 0;
	} else if (strchr(v, ':') != colon) {
		config_errf(msg, msglen, "an IPv6 address needs brackets, as in [::1]:8080");
		return -1;
	} else
		hl = (size_t)(colon - v);
	if (hl == 0 || hl >= hostlen)
		return -1;
	memcpy(host, v, hl);
	host[hl] = '\0';
	if (!*v6 && strcmp(host, "*") == 0)
		strlcpy(host, "0.0.0.0", hostlen);
	*port = colon + 1;
	return 0;
}

/* Adds each distinct address of res to out; returns how many. */
static int
config_listen_collect(const struct addrinfo *res, const char *text,
    struct config_listen *out, int max)
{
	const struct addrinfo *ai;
	int n = 0, i;

	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out[0].addr))
			continue;
		for (i = 0; i < n; i++)
			if (out[i].addrlen == ai->ai_addrlen &&
			    memcmp(&out[i].addr, ai->ai_addr, ai->ai_addrlen) == 0)
				break;
		if (i < n)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		strlcpy(out[n].text, text, sizeof(out[n].text));
		memcpy(&out[n].addr, ai->ai_addr, ai->ai_addrlen);
		out[n].addrlen = ai->ai_addrlen;
		n++;
	}
	return n;
}

/*
 * Resolves host and port: numerically first; a name (never a bracketed
 * one) then through the resolver, every address it has, like nginx.
 */
static int
config_listen_resolve(const char *host, const char *port, bool v6, const char *text,
    struct config_listen *out, int max, char *msg, size_t msglen)
{
	struct addrinfo hints, *res = NULL;
	char q[CONFIG_QUOTE_LEN];
	int rc, n;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = v6 ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc == EAI_NONAME && !v6) {
		hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE | AI_ADDRCONFIG;
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc != 0 && v6)
		config_errf(msg, msglen, "%s is not an IPv6 address",
		    config_quote(host, q, sizeof(q)));
	else if (rc != 0)
		config_errf(msg, msglen, "cannot resolve %s: %s", config_quote(host, q, sizeof(q)),
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	if (rc != 0)
		return -1;
	n = config_listen_collect(res, text, out, max);
	freeaddrinfo(res);
	if (n == 0)
		config_errf(msg, msglen, "%s has no usable address", config_quote(host, q, sizeof(q)));
	return n == 0 ? -1 : n;
}

/* "cc=NAME": a congestion control's name as the kernel spells them
 * (tcp_available_congestion_control); whether this kernel has it is for
 * the bind to find out. */
static int
config_listen_cc(const char *name, char *out, size_t outlen, char *msg, size_t msglen)
{
	char q[CONFIG_QUOTE_LEN];
	size_t n = strlen(name);

	if (n == 0 || n >= outlen || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
		config_errf(msg, msglen, "cc= expects a congestion control name such as cubic, "
		    "reno or bbr (at most %zu characters), got %s", outlen - 1,
		    config_quote(name, q, sizeof(q)));
		return -1;
	}
	memcpy(out, name, n + 1);
	return 0;
}

/* Splits the flags after the address ("127.0.0.1:443 tls proxy_protocol")
 * off into addr and sets them in *out. Returns 0, or -1 with msg filled. */
static int
config_listen_flags(const char *v, char *addr, size_t addrlen,
    struct config_listen *out, char *msg, size_t msglen)
{
	char q[CONFIG_QUOTE_LEN], word[64];
	size_t n = strcspn(v, " \t");
	const char *p = v + n;

	out->tls = out->proxy_protocol = false;
	memset(out->cc, 0, sizeof(out->cc));     /* copied whole to every address */
	if (n >= addrlen) {
		config_errf(msg, msglen, "address too long (at most %zu bytes)", addrlen - 1);
		return -1;
	}
	memcpy(addr, v, n);
	addr[n] = '\0';
	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			return 0;
		n = strcspn(p, " \t");
		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		if (strcmp(word, "tls") == 0)
			out->tls = true;
		else if (strcmp(word, "proxy_protocol") == 0)
			out->proxy_protocol = true;
		else if (strncmp(word, "cc=", 3) == 0) {
			if (config_listen_cc(word + 3, out->cc, sizeof(out->cc), msg, msglen) == -1)
				return -1;
		} else {
			config_errf(msg, msglen, "unknown flag %s after the address "
			    "(expected \"tls\", \"proxy_protocol\" or \"cc=NAME\")",
			    config_quote(word, q, sizeof(q)));
			return -1;
		}
		p += n;
	}
}

/* Parses one listen value into up to max entries; returns how many. */
int
config_listen_parse(const char *value, struct config_listen *out, int max, char *msg,
    size_t msglen)
{
	char host[256], q[CONFIG_QUOTE_LEN], v[sizeof(out[0].text)];
	const char *port;
	long long pn;
	struct config_listen flags;
	bool v6;
	int n;

	msg[0] = '\0';
	if (config_listen_flags(value, v, sizeof(v), &flags, msg, msglen) == -1)
		return -1;
	if (config_listen_split(v, host, sizeof(host), &port, &v6, msg, msglen) == -1) {
		if (msg[0] == '\0')
			config_errf(msg, msglen, "expected HOST:PORT, [IPv6]:PORT, *:PORT "
			    "or PORT, got %s", config_quote(v, q, sizeof(q)));
		return -1;
	}
	if (config_parse_number(port, 0, 65535, &pn) == -1) {
		config_errf(msg, msglen, "expected a port 0..65535, got %s",
		    config_quote(port, q, sizeof(q)));
		return -1;
	}
	if (strlen(v) >= sizeof(out[0].text)) {
		config_errf(msg, msglen, "address too long (at most %zu bytes)",
		    sizeof(out[0].text) - 1);
		return -1;
	}
	n = config_listen_resolve(host, port, v6, v, out, max, msg, msglen);
	for (int i = 0; i < n; i++) {
		out[i].tls = flags.tls;
		out[i].proxy_protocol = flags.proxy_protocol;
		memcpy(out[i].cc, flags.cc, sizeof(out[i].cc));
	}
	return n;
}


int
config_listen_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char host[INET6_ADDRSTRLEN];
	int n;

	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(sin)) {
		memcpy(&sin, sa, sizeof(sin));
		if (inet_ntop(AF_INET, &sin.sin_addr, host, sizeof(host)) == NULL)
			return -1;
		n = snprintf(buf, buflen, "%s:%u", host, ntohs(sin.sin_port));
	} else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(sin6)) {
		memcpy(&sin6, sa, sizeof(sin6));
		if (inet_ntop(AF_INET6, &sin6.sin6_addr, host, sizeof(host)) == NULL)
			return -1;
		n = snprintf(buf, buflen, "[%s]:%u", host, ntohs(sin6.sin6_port));
	} else
		return -1;
	return n < 0 || (size_t)n >= buflen ? -1 : 0;
}
