/*
 * Configuration keys: every key is a row of config_keys[] naming its field
 * and a setter; a setter only says what was wrong with the value, and
 * config_set() adds where it came from. Nothing here logs or exits. The
 * file reader, the command line, the value parsers and the checks across
 * keys live in the other config_*.c files (config_internal.h lists them).
 */
#include "supervisor/config_internal.h"
#include "ipc/base/util.h"
#include "ipc/base/log.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>

#include "supervisor/config_scale.h"

#define FIELD(c, k, type) ((type *)(void *)((char *)(c) + (k)->off))

static int
config_set_bool(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	char q[CONFIG_QUOTE_LEN];

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
	char q[CONFIG_QUOTE_LEN], lo[24];
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
	char q[CONFIG_QUOTE_LEN];
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
	char q[CONFIG_QUOTE_LEN];

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
	char q[CONFIG_QUOTE_LEN];
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
	char q[CONFIG_QUOTE_LEN];
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

/* cache_control, add_header: each value adds to a list in the site
 * options; the checks live with those options in server/site.c. */
static int
config_set_site_list(struct config *c, const struct config_key *k, const char *v,
    char *msg, size_t msglen)
{
	return k->site_add(&c->site, v, msg, msglen);
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
	if (c->agent.tls || c->agent.proxy_protocol || c->agent.cc[0] != '\0') {
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

const struct config_key config_keys[] = {
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
	/* Each entry may keep a body of up to FILE_BODY_MAX (16 KiB): the
	 * ceiling bounds what the cache can ever take, 1 GiB a worker. */
	{ "open_file_cache", config_set_int, OFF(open_file_cache), 1, 65536, "N" },
	{ "open_file_cache_inactive", config_set_duration, OFF(open_file_cache_inactive_ms),
	    1, MS_MAX, "TIME" },
	{ "backlog", config_set_int, OFF(backlog), 1, 65535, "N" },
	{ "precompressed", config_set_bool, OFF(site.precompressed), 0, 0, "on|off" },
	{ "cache_control", config_set_site_list, 0, 0, 0, 0, "GLOB VALUE",
	    site_add_cache_control },
	{ "add_header", config_set_site_list, 0, 0, 0, 0, "'Name: value'", site_add_header },
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

const size_t config_nkeys = nitems(config_keys);

const struct config_key *
config_key_find(const char *key)
{
	char norm[64];
	size_t i;

	if (strlcpy(norm, key, sizeof(norm)) >= sizeof(norm))
		return NULL;
	for (i = 0; norm[i] != '\0'; i++)
		if (norm[i] == '-')
			norm[i] = '_';
	for (i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].name, norm) == 0)
			return &config_keys[i];
	return NULL;
}

bool
config_key_is_bool(const struct config_key *k)
{
	return k->set == config_set_bool;
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
	c->open_file_cache = 16384;
	c->open_file_cache_inactive_ms = 60000;   /* nginx's inactive= */
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
	char msg[CONFIG_ERR_LEN], q[CONFIG_QUOTE_LEN];

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
