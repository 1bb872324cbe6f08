/*
 * Request path to file: percent-decoding, normalisation, the dotfile rule,
 * and opening beneath the root with openat2(RESOLVE_BENEATH).
 */
#ifndef PREFORKD_PATH_H
#define PREFORKD_PATH_H

#include <stddef.h>

/*
 * Percent-decodes the raw request path (which starts with '/') into out as
 * a path relative to the root: no leading '/', "." segments and empty
 * segments removed, ".." applied (it can never climb above the root: such
 * a request is refused). "" is the root itself. *dir_slash is set when the
 * raw request path ends in '/' (a decoded "%2F" or a final "." or ".."
 * segment does not count: such a directory gets the redirect to its slash
 * form, so relative links in a listing resolve). A decoded "%2F" is a
 * separator. Returns 0, or -1 for a path to refuse with 400
 * (bad %-escape, NUL, climbing above root, too long for outlen).
 */
int path_decode(const char *raw, size_t len, char *out, size_t outlen, int *dir_slash);
/* True when a segment of rel starts with '.', except a first segment of
 * ".well-known". */
int path_is_dotfile(const char *rel);
/* openat2(rootfd, rel or ".", flags | O_CLOEXEC, RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS). Returns an fd or -1 with errno (EXDEV when the
 * path would leave the root through a symlink, ".." or an absolute link;
 * ENOSYS on kernels before 5.6: there is deliberately no weaker fallback).
 * For opening existing files: no O_CREAT (the mode would be 0). */
int path_open_beneath(int rootfd, const char *rel, int flags);

/* Writes s percent-encoded for use in a URL path (keeps '/' and unreserved
 * characters). Returns the length, or -1 if out is too small. */
int url_encode_path(const char *s, char *out, size_t outlen);
/* Writes s with & < > " ' escaped. Returns the length, or -1 if too small. */
int html_escape(const char *s, char *out, size_t outlen);

/*
 * Renders an HTML listing of the open directory dirfd, which is rel
 * (decoded, relative, "" for the root) beneath rootfd, for the URL path
 * url_path (decoded, starts and ends with '/'): entries sorted by name,
 * directories with a trailing '/', names escaped, links percent-encoded,
 * sizes and modification dates. Only entries a request would serve are
 * listed (resolved beneath rootfd; regular files and directories).
 * Dotfiles are listed only if show_dotfiles. Returns a malloc'd buffer
 * (caller frees) with its length in *len, or NULL with errno. Listings are
 * not the hot path, so allocating here is fine.
 */
char *autoindex_render(int rootfd, const char *rel, int dirfd,
    const char *url_path, int show_dotfiles, size_t *len);

#endif
