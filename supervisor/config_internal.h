/*
 * What the parser's files share and nothing outside them uses: the key
 * table's row, the error helpers, the value parsers the setters and the
 * command line both need. The public interface stays supervisor/config.h.
 *
 *   config.c           the key table, its setters, defaults, config_set()
 *   config_value.c     numbers, booleans, durations; error text helpers
 *   config_listen.c    listen addresses: split, resolve, flags, format
 *   config_lex.c       the file: lines, comments, quotes, "key = value"
 *   config_validate.c  checks across keys, after everything is set
 *   config_args.c      the command line (config_from_args)
 */
#ifndef PREFORKD_CONFIG_INTERNAL_H
#define PREFORKD_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "supervisor/config.h"

/* 24 days: the longest duration whose milliseconds fit in an int. */
#define CONFIG_DURATION_MAX_MS (24LL * 24 * 3600 * 1000)
/* Values echoed in errors are cut to this many bytes. */
#define CONFIG_ECHO_MAX 64
/* A buffer for config_quote(): the cut value, "..." and the quotes. */
#define CONFIG_QUOTE_LEN (CONFIG_ECHO_MAX + 8)

struct config_key;
/* Sets the key from text; on error fills msg with what was wrong with the
 * value only (config_set adds where it came from). Returns 0 or -1. */
typedef int config_setter(struct config *, const struct config_key *,
    const char *, char *, size_t);
/* Adds one value to a list in the site options (server/site.c checks it). */
typedef int config_site_adder(struct site_opts *, const char *, char *, size_t);

/* One row of the key table (config.c). */
struct config_key {
	const char *name;
	config_setter *set;
	size_t off;                   /* offsetof the field */
	size_t size;                  /* sizeof the field (strings) */
	long long min, max;           /* range (numbers, durations in ms) */
	const char *help;
	config_site_adder *site_add;  /* config_set_site_list's callee */
};

/* config.c */
extern const struct config_key config_keys[];
extern const size_t config_nkeys;
/* Finds a key written with dashes or underscores; NULL if unknown. */
const struct config_key *config_key_find(const char *key);
/* A boolean key may stand alone on the command line. */
bool config_key_is_bool(const struct config_key *k);

/* config_value.c */
void config_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* s quoted for an error message into buf (CONFIG_QUOTE_LEN bytes): cut,
 * and unprintable bytes shown as '?'. Returns buf, or a constant "\"\""
 * when buf is too small to hold anything. */
const char *config_quote(const char *s, char *buf, size_t buflen);
/* A plain decimal number in min..max: digits only, no sign, no blanks. */
int config_parse_number(const char *s, long long min, long long max, long long *out);
int config_parse_bool(const char *s, bool *out);
/* "auto": one worker per online CPU, at least 1, at most cap. */
int config_auto_workers(int cap);

/* config_listen.c */
/* Parses one listen value ("ADDR [tls] [proxy_protocol]") into up to max
 * entries; returns how many, or -1 with msg filled. */
int config_listen_parse(const char *value, struct config_listen *out, int max,
    char *msg, size_t msglen);

#endif
