/*
 * Configuration (DESIGN §3): defaults, the "key = value" file, the command
 * line, and validation. Every key is a row of config_keys[] naming its field
 * and a setter; a setter only says what was wrong with the value, and
 * config_set() adds where it came from. Nothing here logs or exits.
 */
#include "supervisor/config.h"
#include "ipc/base/log.h"
#include "server/mimefile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "supervisor/config_scale.h"

/* 24 days: the longest duration whose milliseconds fit in an int. */
#define CONFIG_DURATION_MAX_MS (24LL * 24 * 3600 * 1000)
/* Values echoed in errors are cut to this many bytes. */
#define CONFIG_ECHO_MAX 64

struct config_key;
typedef int config_setter(struct config *, const struct config_key *,
    const char *, char *, size_t);

struct config_key {
	const char *name;
	config_setter *set;
	size_t off;                   /* offsetof the field */
	size_t size;                  /* sizeof the field (strings) */
	long long min, max;           /* range (numbers, durations in ms) */
	const char *help;
};

static void
config_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
config_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Quotes s for an error message: cut to CONFIG_ECHO_MAX bytes, control and
 * non-ASCII bytes shown as '?', so one bad line stays one printable line.
 */
static const char *
config_quote(const char *s, char *buf, size_t buflen)
{
	size_t i, o = 0, n = strlen(s);

	if (buflen < 8)
		return "\"\"";
	buf[o++] = '"';
	for (i = 0; i < n && i < CONFIG_ECHO_MAX && o + 5 < buflen; i++) {
		unsigned char ch = (unsigned char)s[i];
		buf[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (i < n && o + 5 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* Parses a plain decimal number in min..max: no sign, no junk, no overflow. */
static int
config_parse_number(const char *s, long long min, long long max, long long *out)
{
	long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (LLONG_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
config_parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "on", "yes", "true", "1" };
	static const char *no[] = { "off", "no", "false", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int
config_parse_duration_ms(const char *s, int *out_ms)
{
	static const struct { const char *unit; long long ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	long long v = 0;
	size_t i;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > CONFIG_DURATION_MAX_MS)
			return -1;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s, units[i].unit) != 0)
			continue;
		if (v > CONFIG_DURATION_MAX_MS / units[i].ms)
			return -1;
		*out_ms = (int)(v * units[i].ms);
		return 0;
	}
	return -1;
}

/* "auto": one worker per online CPU, at least 1, at most cap. */
static int
config_auto_workers(int cap)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > cap)
		n = cap;
	return (int)n;
}

#define FIELD(c, k, type) ((type *)(void *)((char *)(c) + (k)->off))

static int
config_set_bool(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	char q[CONFIG_ECHO_MAX + 8];

	if (config_parse_bool(v, FIELD(c, k, bool)) == 0)
		return 0;
	config_errf(msg, msglen, "expected on/off, yes/no, true/false or 1/0, got %s",
	    config_quote(v, q, sizeof(q)));
	return -1;
}

static int
config_set_duration(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	char q[CONFIG_ECHO_MAX + 8], lo[24];
	int ms;

	if (config_parse_duration_ms(v, &ms) == 0 && ms >= k->min) {
		*FIELD(c, k, int) = ms;
		return 0;
	}
	if (k->min == 0)
		snprintf(lo, sizeof(lo), "0");
	else if (k->min % 1000 == 0)
		snprintf(lo, sizeof(lo), "%llds", k->min / 1000);
	else
		snprintf(lo, sizeof(lo), "%lldms", k->min);
	config_errf(msg, msglen, "expected a duration such as 500ms, 5s, 2m or 1h "
	    "(%s..24d), got %s", lo, config_quote(v, q, sizeof(q)));
	return -1;
}

static int
config_set_int(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	char q[CONFIG_ECHO_MAX + 8];
	long long n;

	if (config_parse_number(v, k->min, k->max, &n) == 0) {
		if (k->size == sizeof(long))
			*FIELD(c, k, long) = (long)n;
		else
			*FIELD(c, k, int) = (int)n;
		return 0;
	}
	config_errf(msg, msglen, "expected a number %lld..%lld, got %s", k->min, k->max,
	    config_quote(v, q, sizeof(q)));
	return -1;
}

/* A string field; min 1 means it must not be empty. */
static int
config_set_string(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	if (*v == '\0' && k->min > 0) {
		config_errf(msg, msglen, "expected a non-empty value");
		return -1;
	}
	if (strlcpy(FIELD(c, k, char), v, k->size) >= k->size) {
		config_errf(msg, msglen, "too long (at most %zu bytes)", k->size - 1);
		return -1;
	}
	return 0;
}

/* A file name looked up inside each directory: no slash. */
static int
config_set_index(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	char q[CONFIG_ECHO_MAX + 8];

	if (*v == '\0' || strchr(v, '/') != NULL || strcmp(v, ".") == 0 ||
	    strcmp(v, "..") == 0) {
		config_errf(msg, msglen, "expected a file name without '/', got %s",
		    config_quote(v, q, sizeof(q)));
		return -1;
	}
	return config_set_string(c, k, v, msg, msglen);
}

/* "stderr", "-" and "" all mean stderr, stored as "". */
static int
config_set_error_log(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	if (strcmp(v, "stderr") == 0 || strcmp(v, "-") == 0)
		v = "";
	return config_set_string(c, k, v, msg, msglen);
}

static int
config_set_enum(const char *v, const char *const *names, int *out, const char *expected,
    char *msg, size_t msglen)
{
	char q[CONFIG_ECHO_MAX + 8];
	int i;

	for (i = 0; names[i] != NULL; i++) {
		if (strcasecmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	config_errf(msg, msglen, "expected %s, got %s", expected, config_quote(v, q, sizeof(q)));
	return -1;
}

static int
config_set_status_format(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	/* In enum status_format order. */
	static const char *const names[] = { "json", "text", "openmetrics", NULL };
	int i;

	(void)k;
	if (config_set_enum(v, names, &i, "\"json\", \"text\" or \"openmetrics\"", msg,
	    msglen) == -1)
		return -1;
	c->status_format = (enum status_format)i;
	return 0;
}

static int
config_set_log_level(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	/* In enum log_level order. */
	static const char *const names[] = { "error", "warn", "info", "debug", NULL };
	int i;

	(void)k;
	if (config_set_enum(v, names, &i, "\"error\", \"warn\", \"info\" or \"debug\"",
	    msg, msglen) == -1)
		return -1;
	c->log_level = LOG_LVL_ERROR + i;
	return 0;
}

static int
config_set_dotfiles(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	static const char *const names[] = { "deny", "allow", NULL };
	int i;

	(void)k;
	if (config_set_enum(v, names, &i, "\"deny\" or \"allow\"", msg, msglen) == -1)
		return -1;
	c->dotfiles_allow = i == 1;
	return 0;
}

static int
config_set_workers(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	char q[CONFIG_ECHO_MAX + 8];
	long long n;

	(void)k;
	if (strcasecmp(v, "auto") == 0) {
		c->workers_auto = true;
		c->workers = config_auto_workers(c->max_workers);
		return 0;
	}
	/* Checked against max_workers in config_validate: it may come later. */
	if (config_parse_number(v, 1, CONFIG_WORKERS_LIMIT, &n) == 0) {
		c->workers_auto = false;
		c->workers = (int)n;
		return 0;
	}
	config_errf(msg, msglen, "expected \"auto\" or a number 1..%d, got %s",
	    c->max_workers, config_quote(v, q, sizeof(q)));
	return -1;
}

static int
config_set_max_workers(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	if (config_set_int(c, k, v, msg, msglen) == -1)
		return -1;
	if (c->workers_auto)
		c->workers = config_auto_workers(c->max_workers);
	return 0;
}

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
	char q[CONFIG_ECHO_MAX + 8];
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

/* Splits the flags after the address ("127.0.0.1:443 tls proxy_protocol")
 * off into addr and sets them in *out. Returns 0, or -1 with msg filled. */
static int
config_listen_flags(const char *v, char *addr, size_t addrlen,
    struct config_listen *out, char *msg, size_t msglen)
{
	char q[CONFIG_ECHO_MAX + 8], word[64];
	size_t n = strcspn(v, " \t");
	const char *p = v + n;

	out->tls = out->proxy_protocol = false;
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
		else {
			config_errf(msg, msglen, "unknown flag %s after the address "
			    "(expected \"tls\" or \"proxy_protocol\")", config_quote(word, q, sizeof(q)));
			return -1;
		}
		p += n;
	}
}

/* Parses one listen value into up to max entries; returns how many. */
static int
config_listen_parse(const char *value, struct config_listen *out, int max, char *msg,
    size_t msglen)
{
	char host[256], q[CONFIG_ECHO_MAX + 8], v[sizeof(out[0].text)];
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
	}
	return n;
}

/* The first listen of a source replaces the list; later ones append. */
static int
config_set_listen(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	struct config_listen add[CONFIG_MAX_LISTEN];
	int n, base;

	(void)k;
	if ((n = config_listen_parse(v, add, CONFIG_MAX_LISTEN, msg, msglen)) == -1)
		return -1;
	base = c->listen_fresh ? 0 : c->nlisten;
	if (base + n > CONFIG_MAX_LISTEN) {
		config_errf(msg, msglen, "too many addresses (at most %d)", CONFIG_MAX_LISTEN);
		return -1;
	}
	memcpy(&c->listen[base], add, (size_t)n * sizeof(add[0]));
	c->nlisten = base + n;
	c->listen_fresh = false;
	return 0;
}

/* DESIGN §14: the checks live with the options in server/site.c. */
static int
config_set_cache_control(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	(void)k;
	return site_add_cache_control(&c->site, v, msg, msglen);
}

static int
config_set_add_header(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	(void)k;
	return site_add_header(&c->site, v, msg, msglen);
}

static int
config_set_autoindex_format(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	static const char *const names[] = { "html", "json", NULL };

	(void)k;
	return config_set_enum(v, names, &c->site.autoindex_format,
	    "\"html\" or \"json\"", msg, msglen);
}

/* agent_listen: one address, like a listen line without flags. */
static int
config_set_agent_listen(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	(void)k;
	if (config_listen_parse(v, &c->agent, 1, msg, msglen) == -1)
		return -1;
	if (c->agent.tls || c->agent.proxy_protocol) {
		config_errf(msg, msglen, "takes an address only, no flags");
		return -1;
	}
	c->agent_on = true;
	return 0;
}

static int
config_set_proxy_from(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	(void)k;
	return config_proxy_from_parse(v, c->proxy_from, &c->nproxy_from, msg, msglen);
}

#define OFF(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define MS_MAX CONFIG_DURATION_MAX_MS

static const struct config_key config_keys[] = {
	{ "listen", config_set_listen, 0, 0, 0, 0, "ADDR" },
	{ "root", config_set_string, OFF(root), 1, 0, "DIR" },
	{ "workers", config_set_workers, 0, 0, 0, 0, "auto|N" },
	{ "max_workers", config_set_max_workers, OFF(max_workers), 1, CONFIG_WORKERS_LIMIT, "N" },
	{ "user", config_set_string, OFF(user), 0, 0, "NAME" },
	{ "group", config_set_string, OFF(group), 0, 0, "NAME" },
	{ "pidfile", config_set_string, OFF(pidfile), 0, 0, "FILE" },
	{ "daemon", config_set_bool, OFF(daemon), 0, 0, "on|off" },
	{ "status_pipe", config_set_string, OFF(status_pipe), 0, 0, "FIFO" },
	{ "status_interval", config_set_duration, OFF(status_interval_ms), 1, MS_MAX, "TIME" },
	{ "status_format", config_set_status_format, 0, 0, 0, 0, "json|text|openmetrics" },
	{ "access_log", config_set_string, OFF(access_log), 1, 0, "-|off|FILE" },
	{ "error_log", config_set_error_log, OFF(error_log), 0, 0, "stderr|FILE" },
	{ "log_level", config_set_log_level, 0, 0, 0, 0, "error|warn|info|debug" },
	{ "index", config_set_index, OFF(index), 1, 0, "NAME" },
	{ "autoindex", config_set_bool, OFF(autoindex), 0, 0, "on|off" },
	{ "dotfiles", config_set_dotfiles, 0, 0, 0, 0, "deny|allow" },
	{ "keepalive_timeout", config_set_duration, OFF(keepalive_timeout_ms), 0, MS_MAX, "TIME" },
	{ "keepalive_requests", config_set_int, OFF(keepalive_requests), 1, INT_MAX, "N" },
	{ "header_timeout", config_set_duration, OFF(header_timeout_ms), 1, MS_MAX, "TIME" },
	{ "send_timeout", config_set_duration, OFF(send_timeout_ms), 1, MS_MAX, "TIME" },
	{ "graceful_timeout", config_set_duration, OFF(graceful_timeout_ms), 0, MS_MAX, "TIME" },
	/* A floor the heartbeat (every min(1s, timeout/4)) meets with room to
	 * spare on a busy host: below it every worker would be killed as hung. */
	{ "worker_timeout", config_set_duration, OFF(worker_timeout_ms),
	    CONFIG_WORKER_TIMEOUT_MIN_MS, MS_MAX, "TIME" },
	{ "upgrade_timeout", config_set_duration, OFF(upgrade_timeout_ms), 1, MS_MAX, "TIME" },
	{ "max_requests", config_set_int, OFF(max_requests), 0, LONG_MAX, "N" },
	{ "max_requests_jitter", config_set_int, OFF(max_requests_jitter), 0, LONG_MAX, "N" },
	{ "max_connections", config_set_int, OFF(max_connections), 1, 1048576, "N" },
	{ "backlog", config_set_int, OFF(backlog), 1, 65535, "N" },
	{ "precompressed", config_set_bool, OFF(site.precompressed), 0, 0, "on|off" },
	{ "cache_control", config_set_cache_control, 0, 0, 0, 0, "GLOB VALUE" },
	{ "add_header", config_set_add_header, 0, 0, 0, 0, "'Name: value'" },
	{ "mime_types", config_set_string, OFF(site.mime_types), 0, 0, "FILE" },
	{ "autoindex_format", config_set_autoindex_format, 0, 0, 0, 0, "html|json" },
	{ "proxy_protocol_from", config_set_proxy_from, 0, 0, 0, 0, "CIDR[,CIDR...]" },
	{ "agent_listen", config_set_agent_listen, 0, 0, 0, 0, "ADDR:PORT" },
	{ "tls_certificate", config_set_string, OFF(tls_certificate), 0, 0, "FILE" },
	{ "tls_certificate_key", config_set_string, OFF(tls_certificate_key), 0, 0, "FILE" },
	{ "tls_protocols", config_set_string, OFF(tls_protocols), 1, 0, "TLSv1.2 TLSv1.3" },
	{ "tls_ciphers", config_set_string, OFF(tls_ciphers), 1, 0, "LIST" },
	{ "tls_ciphersuites", config_set_string, OFF(tls_ciphersuites), 1, 0, "LIST" },
	{ "tls_ticket_key_rotation", config_set_duration, OFF(tls_ticket_key_rotation_ms), 1, MS_MAX, "TIME" },
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* Finds a key written with dashes or underscores; NULL if unknown. */
static const struct config_key *
config_key_find(const char *key)
{
	char norm[64];
	size_t i;

	if (strlcpy(norm, key, sizeof(norm)) >= sizeof(norm))
		return NULL;
	for (i = 0; norm[i] != '\0'; i++)
		if (norm[i] == '-')
			norm[i] = '_';
	for (i = 0; i < CONFIG_NKEYS; i++)
		if (strcmp(config_keys[i].name, norm) == 0)
			return &config_keys[i];
	return NULL;
}

void
config_defaults(struct config *c)
{
	struct sockaddr_in *sin;

	memset(c, 0, sizeof(*c));
	c->nlisten = 1;
	strlcpy(c->listen[0].text, "127.0.0.1:8080", sizeof(c->listen[0].text));
	sin = (struct sockaddr_in *)(void *)&c->listen[0].addr;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(8080);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->listen[0].addrlen = sizeof(*sin);
	c->listen_fresh = true;
	strlcpy(c->root, ".", sizeof(c->root));
	c->max_workers = 64;
	c->workers_auto = true;
	c->workers = config_auto_workers(c->max_workers);
	c->status_interval_ms = 1000;
	c->status_format = STATUS_JSON;
	strlcpy(c->access_log, "-", sizeof(c->access_log));
	c->log_level = LOG_LVL_INFO;
	strlcpy(c->index, "index.html", sizeof(c->index));
	c->autoindex = true;
	c->keepalive_timeout_ms = 5000;
	c->keepalive_requests = 1000;
	c->header_timeout_ms = 10000;
	c->send_timeout_ms = 60000;
	c->graceful_timeout_ms = 30000;
	c->worker_timeout_ms = 30000;
	c->upgrade_timeout_ms = 30000;
	c->max_connections = 1024;
	c->backlog = 511;
	site_defaults(&c->site);
	config_proxy_from_parse(CONFIG_PROXY_FROM_DEFAULT, c->proxy_from, &c->nproxy_from,
	    NULL, 0);
	strlcpy(c->tls_protocols, "TLSv1.2 TLSv1.3", sizeof(c->tls_protocols));
	/* Mozilla "intermediate" (v5.7): AEAD with forward secrecy only. */
	strlcpy(c->tls_ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384", sizeof(c->tls_ciphers));
	strlcpy(c->tls_ciphersuites, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
	    "TLS_CHACHA20_POLY1305_SHA256", sizeof(c->tls_ciphersuites));
	c->tls_ticket_key_rotation_ms = 3600000;
}

int
config_set(struct config *c, const char *key, const char *value,
    const char *where, char *err, size_t errlen)
{
	const struct config_key *k;
	bool flag = where != NULL && strncmp(where, "--", 2) == 0;
	char msg[CONFIG_ERR_LEN], q[CONFIG_ECHO_MAX + 8];

	if ((k = config_key_find(key)) == NULL) {
		if (flag)
			config_errf(err, errlen, "unknown option %s", config_quote(where, q, sizeof(q)));
		else
			config_errf(err, errlen, "%s%sunknown key %s", where ? where : "",
			    where ? ": " : "", config_quote(key, q, sizeof(q)));
		return -1;
	}
	msg[0] = '\0';
	if (k->set(c, k, value, msg, sizeof(msg)) == 0)
		return 0;
	if (flag || where == NULL)
		config_errf(err, errlen, "%s: %s", flag ? where : k->name, msg);
	else
		config_errf(err, errlen, "%s: %s: %s", where, k->name, msg);
	return -1;
}

/* Cuts a comment: '#' outside quotes, at the start or after whitespace. */
static void
config_cut_comment(char *v)
{
	bool inq = false;
	char *p;

	for (p = v; *p != '\0'; p++) {
		if (*p == '"')
			inq = !inq;
		else if (*p == '#' && !inq && (p == v || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

static char *
config_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Splits "key = value" in place: trims, cuts the comment, drops quotes. */
static int
config_split_line(char *s, char **key, char **value, char *msg, size_t msglen)
{
	char *eq, *v;
	size_t n;

	if ((eq = strchr(s, '=')) == NULL) {
		config_errf(msg, msglen, "expected \"key = value\"");
		return -1;
	}
	*eq = '\0';
	*key = config_trim(s);
	if (**key == '\0') {
		config_errf(msg, msglen, "expected \"key = value\", got no key");
		return -1;
	}
	v = eq + 1;
	config_cut_comment(v);
	v = config_trim(v);
	n = strlen(v);
	if (n > 0 && v[0] == '"') {
		if (n < 2 || v[n - 1] != '"') {
			config_errf(msg, msglen, "%s: missing closing '\"'", *key);
			return -1;
		}
		v[n - 1] = '\0';
		v++;
	}
	*value = v;
	return 0;
}

/* One line of a file, without its newline; n is its length. */
static int
config_line(struct config *c, const char *path, int lineno, char *line, size_t n,
    char *err, size_t errlen)
{
	char where[PATH_MAX + 16], msg[CONFIG_ERR_LEN];
	char *s, *key, *value;

	if (memchr(line, '\0', n) != NULL) {
		config_errf(err, errlen, "%s:%d: NUL byte in line", path, lineno);
		return -1;
	}
	s = line;
	if (lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;         /* a UTF-8 byte order mark */
	s = config_trim(s);
	if (*s == '\0' || *s == '#')
		return 0;
	if (config_split_line(s, &key, &value, msg, sizeof(msg)) == -1) {
		config_errf(err, errlen, "%s:%d: %s", path, lineno, msg);
		return -1;
	}
	snprintf(where, sizeof(where), "%s:%d", path, lineno);
	return config_set(c, key, value, where, err, errlen);
}

/*
 * Reads one line into buf (CONFIG_LINE_MAX + 2 bytes) without its "\n" or
 * "\r\n". Returns its length; -2 for a line longer than CONFIG_LINE_MAX,
 * whose rest is left unread; -1 at the end of the file or on a read error.
 * Memory stays bounded whatever the file holds.
 */
static ssize_t
config_read_line(FILE *f, char *buf)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (n == CONFIG_LINE_MAX + 1)
			return -2;
		buf[n++] = (char)ch;
	}
	if (ch == EOF && n == 0)
		return -1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return n > CONFIG_LINE_MAX ? -2 : (ssize_t)n;
}

int
config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	char line[CONFIG_LINE_MAX + 2];
	int lineno = 0, rc = -1;
	ssize_t len;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		config_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	strlcpy(c->file, path, sizeof(c->file));
	c->listen_fresh = true;
	while ((len = config_read_line(f, line)) != -1) {
		lineno++;
		if (len == -2) {
			config_errf(err, errlen, "%s:%d: line too long (more than %d bytes)",
			    path, lineno, CONFIG_LINE_MAX);
			goto fail;
		}
		if (config_line(c, path, lineno, line, (size_t)len, err, errlen) == -1)
			goto fail;
	}
	if (ferror(f)) {
		config_errf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	rc = 0;
fail:
	fclose(f);
	return rc;
}

/* The directory holding path must exist (the file itself may not yet). */
static int
config_check_parent(const char *key, const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (slash == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == path)
		strlcpy(dir, "/", sizeof(dir));
	else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	if (stat(dir, &st) == -1) {
		config_errf(err, errlen, "%s: %s: directory %s: %s", key, path, dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		config_errf(err, errlen, "%s: %s: %s is not a directory", key, path, dir);
		return -1;
	}
	return 0;
}

static int
config_check_root(const struct config *c, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		config_errf(err, errlen, "root: %s: %s", c->root, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int
config_check_ids(const struct config *c, char *err, size_t errlen)
{
	char q[CONFIG_ECHO_MAX + 8];

	errno = 0;
	if (c->user[0] != '\0' && getpwnam(c->user) == NULL) {
		config_errf(err, errlen, "user: %s: %s", config_quote(c->user, q, sizeof(q)),
		    errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	errno = 0;
	if (c->group[0] != '\0' && getgrnam(c->group) == NULL) {
		config_errf(err, errlen, "group: %s: %s", config_quote(c->group, q, sizeof(q)),
		    errno != 0 ? strerror(errno) : "no such group");
		return -1;
	}
	return 0;
}

static bool
config_listen_same(const struct config_listen *a, const struct config_listen *b)
{
	const struct sockaddr_in *a4 = (const void *)&a->addr, *b4 = (const void *)&b->addr;
	const struct sockaddr_in6 *a6 = (const void *)&a->addr, *b6 = (const void *)&b->addr;

	if (a->addr.ss_family != b->addr.ss_family)
		return false;
	if (a->addr.ss_family == AF_INET)
		return a4->sin_port != 0 && a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->addr.ss_family == AF_INET6)
		return a6->sin6_port != 0 && a6->sin6_port == b6->sin6_port &&
		    a6->sin6_scope_id == b6->sin6_scope_id &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
	return false;
}

/* Port 0 is never a duplicate: each such line gets its own free port. */
static int
config_check_listen(const struct config *c, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 16];
	int i, j;

	if (c->nlisten < 1 || c->nlisten > CONFIG_MAX_LISTEN) {
		config_errf(err, errlen, "listen: expected 1..%d addresses, got %d",
		    CONFIG_MAX_LISTEN, c->nlisten);
		return -1;
	}
	for (i = 0; i < c->nlisten; i++)
		for (j = i + 1; j < c->nlisten; j++) {
			if (!config_listen_same(&c->listen[i], &c->listen[j]))
				continue;
			if (config_listen_format((const struct sockaddr *)&c->listen[j].addr,
			    c->listen[j].addrlen, addr, sizeof(addr)) == -1)
				strlcpy(addr, "?", sizeof(addr));
			config_errf(err, errlen, "listen: %s listed twice (\"%s\" and \"%s\")",
			    addr, c->listen[i].text, c->listen[j].text);
			return -1;
		}
	return 0;
}

static int
config_check_paths(const struct config *c, char *err, size_t errlen)
{
	if (c->status_pipe[0] != '\0' &&
	    config_check_parent("status_pipe", c->status_pipe, err, errlen) == -1)
		return -1;
	if (c->pidfile[0] != '\0' &&
	    config_check_parent("pidfile", c->pidfile, err, errlen) == -1)
		return -1;
	if (c->error_log[0] != '\0' &&
	    config_check_parent("error_log", c->error_log, err, errlen) == -1)
		return -1;
	if (strcmp(c->access_log, "-") != 0 && strcmp(c->access_log, "off") != 0 &&
	    config_check_parent("access_log", c->access_log, err, errlen) == -1)
		return -1;
	return 0;
}

/* A TLS listener needs a certificate; the files themselves are read by
 * supervisor/tls_conf.c (for -t, at start and on reload). */
static int
config_check_tls(const struct config *c, char *err, size_t errlen)
{
	for (int i = 0; i < c->nlisten; i++)
		if (c->listen[i].tls && c->tls_certificate[0] == '\0') {
			config_errf(err, errlen, "listen %s tls: tls_certificate is not set",
			    c->listen[i].text);
			return -1;
		}
	return 0;
}

/* Binding is left to the supervisor, which reports unbindable addresses. */
int
config_validate(const struct config *c, char *err, size_t errlen)
{
	if (config_check_listen(c, err, errlen) == -1)
		return -1;
	if (config_check_root(c, err, errlen) == -1)
		return -1;
	if (c->workers > c->max_workers) {
		config_errf(err, errlen, "workers: %d is more than max_workers (%d)",
		    c->workers, c->max_workers);
		return -1;
	}
	if (c->workers < 1) {
		config_errf(err, errlen, "workers: expected at least 1, got %d", c->workers);
		return -1;
	}
	if (config_check_ids(c, err, errlen) == -1)
		return -1;
	if (c->site.mime_types[0] != '\0' &&
	    mimefile_check(c->site.mime_types, err, errlen) == -1)
		return -1;
	if (config_check_tls(c, err, errlen) == -1)
		return -1;
	return config_check_paths(c, err, errlen);
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

enum config_arg_kind { ARG_CONFIG, ARG_TEST, ARG_HELP, ARG_VERSION, ARG_KEY };

/* One command-line option, as config_arg_next() found it. */
struct config_arg {
	enum config_arg_kind kind;
	char name[64];                /* ARG_KEY: the key as written, no "--" */
	const char *value;
	char where[80];               /* "--name", for errors */
};

/*
 * "--name=value", or "--name value"; a boolean key may stand alone (on),
 * and then takes the next argument only when that is a boolean word.
 */
static int
config_arg_key(int argc, char **argv, int *i, struct config_arg *a, char *err,
    size_t errlen)
{
	const char *s = argv[*i] + 2, *eq = strchr(s, '=');
	const struct config_key *k;
	size_t n = eq != NULL ? (size_t)(eq - s) : strlen(s);
	char q[CONFIG_ECHO_MAX + 8];
	bool b;

	a->kind = ARG_KEY;
	if (n < sizeof(a->name)) {
		memcpy(a->name, s, n);
		a->name[n] = '\0';
	}
	if (n >= sizeof(a->name) || (k = config_key_find(a->name)) == NULL) {
		config_errf(err, errlen, "unknown option %s", config_quote(argv[*i], q, sizeof(q)));
		return -1;
	}
	snprintf(a->where, sizeof(a->where), "--%s", a->name);
	if (eq != NULL)
		a->value = eq + 1;
	else if (k->set == config_set_bool) {
		a->value = "on";
		if (*i + 1 < argc && config_parse_bool(argv[*i + 1], &b) == 0)
			a->value = argv[++*i];
	} else if (*i + 1 < argc)
		a->value = argv[++*i];
	else {
		config_errf(err, errlen, "%s: missing value", a->where);
		return -1;
	}
	return 0;
}

/* The next option at argv[*i]; returns 1, 0 at the end, or -1. */
static int
config_arg_next(int argc, char **argv, int *i, struct config_arg *a, char *err,
    size_t errlen)
{
	char q[CONFIG_ECHO_MAX + 8];
	const char *s;

	if (++*i >= argc)
		return 0;
	s = argv[*i];
	memset(a, 0, sizeof(*a));
	if (strcmp(s, "-t") == 0 || strcmp(s, "--test") == 0)
		a->kind = ARG_TEST;
	else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)
		a->kind = ARG_HELP;
	else if (strcmp(s, "-V") == 0 || strcmp(s, "--version") == 0)
		a->kind = ARG_VERSION;
	else if (strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0) {
		if (*i + 1 >= argc) {
			config_errf(err, errlen, "%s: missing file name", s);
			return -1;
		}
		a->kind = ARG_CONFIG;
		a->value = argv[++*i];
	} else if (strncmp(s, "-c", 2) == 0 || strncmp(s, "--config=", 9) == 0) {
		a->kind = ARG_CONFIG;
		a->value = s[1] == 'c' ? s + 2 : s + 9;
	} else if (strncmp(s, "--", 2) == 0 && s[2] != '\0')
		return config_arg_key(argc, argv, i, a, err, errlen) == 0 ? 1 : -1;
	else {
		config_errf(err, errlen, "%s %s", s[0] == '-' ? "unknown option" :
		    "unexpected argument", config_quote(s, q, sizeof(q)));
		return -1;
	}
	return 1;
}

static void
config_usage(void)
{
	size_t i;

	printf("usage: preforkd [-c FILE] [-t] [--key=value ...]\n"
	    "  -c, --config FILE  read the configuration file FILE\n"
	    "  -t, --test         check the configuration and exit\n"
	    "  -h, --help         show this help\n"
	    "  -V, --version      show the version\n"
	    "keys (flags override the file; dashes or underscores):\n");
	for (i = 0; i < CONFIG_NKEYS; i++)
		printf("  --%s=%s\n", config_keys[i].name, config_keys[i].help);
}

/* First pass: finds -c, -t, -h and -V, and checks every option's syntax. */
static int
config_args_scan(int argc, char **argv, const char **file, int *test_only,
    char *err, size_t errlen)
{
	struct config_arg a;
	bool help = false, version = false;
	int i = 0, r;

	while ((r = config_arg_next(argc, argv, &i, &a, err, errlen)) == 1) {
		if (a.kind == ARG_CONFIG)
			*file = a.value;
		else if (a.kind == ARG_TEST)
			*test_only = 1;
		else if (a.kind == ARG_HELP)
			help = true;
		else if (a.kind == ARG_VERSION)
			version = true;
	}
	if (r == -1)
		return -1;
	if (help)
		config_usage();
	else if (version)
		printf("preforkd %s\n", PREFORKD_VERSION);
	return help || version ? 1 : 0;
}

/* Second pass: applies every --key, after the file. */
static int
config_args_apply(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	struct config_arg a;
	int i = 0, r;

	c->listen_fresh = true;
	while ((r = config_arg_next(argc, argv, &i, &a, err, errlen)) == 1)
		if (a.kind == ARG_KEY &&
		    config_set(c, a.name, a.value, a.where, err, errlen) == -1)
			return -1;
	return r;
}

/*
 * Makes a relative path absolute against the working directory; root goes
 * through realpath when it exists. Left alone when it would not fit.
 */
static void
config_absolute(char *path, size_t size, bool real)
{
	char cwd[PATH_MAX], buf[PATH_MAX];

	if (path[0] == '\0' || path[0] == '/')
		return;
	if (real && realpath(path, buf) != NULL) {
		strlcpy(path, buf, size);
		return;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    (size_t)snprintf(buf, sizeof(buf), "%s/%s", cwd, path) >= sizeof(buf) ||
	    strlen(buf) >= size)
		return;
	strlcpy(path, buf, size);
}

/* So a daemon's chdir("/") and a later reload find the same files. */
static void
config_absolute_paths(struct config *c)
{
	config_absolute(c->file, sizeof(c->file), false);
	config_absolute(c->root, sizeof(c->root), true);
	config_absolute(c->pidfile, sizeof(c->pidfile), false);
	config_absolute(c->status_pipe, sizeof(c->status_pipe), false);
	config_absolute(c->error_log, sizeof(c->error_log), false);
	config_absolute(c->site.mime_types, sizeof(c->site.mime_types), false);
	config_absolute(c->tls_certificate, sizeof(c->tls_certificate), false);
	config_absolute(c->tls_certificate_key, sizeof(c->tls_certificate_key), false);
	if (strcmp(c->access_log, "-") != 0 && strcmp(c->access_log, "off") != 0)
		config_absolute(c->access_log, sizeof(c->access_log), false);
}

int
config_from_args(struct config *c, int argc, char **argv, int *test_only,
    char *err, size_t errlen)
{
	const char *file = NULL;
	int t = 0, r;

	if (test_only != NULL)
		*test_only = 0;
	if ((r = config_args_scan(argc, argv, &file, &t, err, errlen)) != 0)
		return r;
	config_defaults(c);
	if (file != NULL && config_load_file(c, file, err, errlen) == -1)
		return -1;
	if (config_args_apply(c, argc, argv, err, errlen) == -1)
		return -1;
	config_absolute_paths(c);
	if (test_only != NULL)
		*test_only = t;
	return config_validate(c, err, errlen);
}
