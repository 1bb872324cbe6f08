/*
 * Static-site options shared by the config (which parses and checks
 * them) and the worker (which applies them): precompressed siblings,
 * Cache-Control rules, extra headers, the mime.types file and the listing
 * format. Fixed-size, so a config copies as one struct.
 */
#ifndef PREFORKD_SITE_H
#define PREFORKD_SITE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define SITE_CACHE_RULES 32
#define SITE_GLOB_MAX 256
#define SITE_VALUE_MAX 256
#define SITE_EXTRA_MAX 4096

enum { SITE_LIST_HTML, SITE_LIST_JSON };

struct site_cache_rule {
	char glob[SITE_GLOB_MAX];
	char value[SITE_VALUE_MAX];
	size_t value_len;
};

struct site_opts {
	bool precompressed;
	int autoindex_format;          /* SITE_LIST_* */
	int ncache;
	struct site_cache_rule cache[SITE_CACHE_RULES];
	char extra[SITE_EXTRA_MAX];    /* "Name: value\r\n" per add_header */
	size_t extra_len;
	char mime_types[PATH_MAX];     /* "" = the built-in table only */
};

/* The defaults: precompressed on, HTML listings, no rules, no headers. */
void site_defaults(struct site_opts *s);
/* "GLOB VALUE": appends a rule. Returns 0, or -1 with msg filled. */
int site_add_cache_control(struct site_opts *s, const char *v, char *msg, size_t msglen);
/* "Name: value": appends a header. Returns 0, or -1 with msg filled. */
int site_add_header(struct site_opts *s, const char *v, char *msg, size_t msglen);
/* The Cache-Control value for the decoded path (which starts with '/'),
 * or NULL when no rule matches; *len gets its length. */
const char *site_cache_control(const struct site_opts *s, const char *path,
    size_t len, size_t *vlen);

#endif
