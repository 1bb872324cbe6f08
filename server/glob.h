/*
 * Shell-style patterns for cache_control rules, matched against the
 * decoded request path. '*' matches any run of bytes, '/' included (so
 * "*.html" matches "/docs/a.html", and "/assets/" followed by a star
 * everything below /assets/);
 * '?' one byte; "[a-z]", "[!0-9]" (or "[^0-9]") one byte of or not of a
 * set; '\' takes the next byte literally. Case-sensitive, like paths.
 * Time is O(pattern * subject) at worst: no exponential backtracking.
 */
#ifndef PREFORKD_GLOB_H
#define PREFORKD_GLOB_H

#include <stddef.h>

/* 1 when the NUL-terminated pattern matches s[0..len), else 0. */
int glob_match(const char *pat, const char *s, size_t len);
/* 0 when pat is well formed; -1 for an unclosed '[' or a trailing '\'. */
int glob_check(const char *pat);

#endif
