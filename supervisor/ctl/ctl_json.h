/*
 * A minimal JSON reader for preforkctl: just enough to walk the status
 * snapshot the supervisor writes (docs/ARCHITECTURE.md: Status pipe). It works in place on a
 * NUL-terminated text and never allocates. Every function accepts any input
 * (it comes from a pipe) and answers NULL or -1 instead of crashing;
 * nesting deeper than CTL_JSON_MAX_DEPTH is refused.
 */
#ifndef PREFORKD_CTL_JSON_H
#define PREFORKD_CTL_JSON_H

#include <stddef.h>

#define CTL_JSON_MAX_DEPTH 16

/* Returns the end of the value starting at p (after leading blanks), or
 * NULL if it is not one well-formed value. */
const char *ctl_json_skip(const char *p);
/* p points at an object; returns the start of the value of key (only this
 * level, first match), or NULL. Keys are compared without unescaping. */
const char *ctl_json_get(const char *obj, const char *key);
/* Follows a dotted path of keys ("totals.responses.2xx"); a segment of
 * digits indexes an array ("tls.certificates.0.file"). */
const char *ctl_json_path(const char *obj, const char *path);
/* Iterates an array: ctl_json_first(arr) gives the first element (NULL for
 * [] or not an array), ctl_json_next(elem) the one after elem or NULL. */
const char *ctl_json_first(const char *arr);
const char *ctl_json_next(const char *elem);
/* Reads a number (integer or float) at p into *out: 0, or -1. */
int ctl_json_number(const char *p, double *out);
/* Copies the string at p into buf, unescaping \" \\ \/ \n \t \r \b \f and
 * \uXXXX below 0x80 ('?' otherwise); truncates to fit. 0, or -1. */
int ctl_json_string(const char *p, char *buf, size_t len);

/* Conveniences over an object: the number or string at a dotted path, or
 * def / "" when absent or of another type. */
double ctl_json_num_at(const char *obj, const char *path, double def);
void ctl_json_str_at(const char *obj, const char *path, char *buf, size_t len);

#endif
