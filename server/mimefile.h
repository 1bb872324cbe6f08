/*
 * mime_types = FILE: a file in the /etc/mime.types format
 * (Debian's media-types package) read on top of the built-in table:
 * "type/subtype ext ext ...", '#' comments, blank lines. Its entries win
 * over the built-in ones for the same extension; text types, JSON, XML
 * and JavaScript get "; charset=utf-8" like the built-in table's.
 * Extensions holding a '.' or longer than 15 bytes can never match a file
 * name's last extension and are skipped.
 */
#ifndef PREFORKD_MIMEFILE_H
#define PREFORKD_MIMEFILE_H

#include <stddef.h>

/* Parses path; the first bad line is "FILE:LINE: message" in err.
 * Returns 0 or -1. Installs nothing (the config check). */
int mimefile_check(const char *path, char *err, size_t errlen);
/* Parses path and installs its table for mime_type() in this process
 * (a worker, once at start). Returns 0, or -1 (err filled when given). */
int mimefile_load(const char *path, char *err, size_t errlen);
/* The installed type for a lower-case extension, or NULL. */
const char *mimefile_type(const char *ext);
/* Forgets the installed table (tests). */
void mimefile_unload(void);

#endif
