/*
 * What a worker remembers of the directories it opens files in, so that a
 * miss in the open-file cache (server/file.h) costs one stat of the
 * directory instead of a type check and three sibling probes:
 *
 *  - which precompressed suffixes (.br, .zst, .gz) end any entry's name:
 *    a probe for FILE.gz is pointless in a directory with no ".gz" name;
 *  - whether every entry is a regular file or a directory ("plain"): then
 *    a name in it cannot be a FIFO, device, socket or symlink, and may be
 *    opened for reading without an O_PATH look first.
 *
 * A directory is known by its dev, ino, ctime and mtime, stat'ed on every
 * lookup: creating, removing or renaming an entry changes its mtime and
 * ctime, and ctime cannot be set back by utimes(2) or rsync -t. A directory
 * whose ctime is within a settle time of now is not cached: a change in the
 * same clock tick (or filesystem timestamp unit) would leave both equal.
 * Slots are allocated once; the scan uses a stack buffer, so the hot path
 * does not allocate.
 */
#ifndef PREFORKD_DIRCACHE_H
#define PREFORKD_DIRCACHE_H

#include <stddef.h>

#define DIR_CACHE_SLOTS 256
#define DIR_SETTLE_MS 2000
/* A directory with more entries is not scanned; it is remembered as
 * "anything may be there" until it changes. */
#define DIR_SCAN_MAX 200000

struct dir_info {
	unsigned suffixes;   /* ENC_BIT(e) when some name ends in enc_suffix(e) */
	int plain;           /* only regular files and directories */
};

struct dir_cache;

/* A cache over the root directory rootfd (not owned). */
struct dir_cache *dir_cache_new(int rootfd);
void dir_cache_free(struct dir_cache *dc);
/* The directory holding rel (decoded, relative, length len; "" or no '/'
 * means the root). Returns 0 with *out, or -1 when the directory is not
 * known now (missing, not a directory, changed too recently, unreadable):
 * the caller then checks and probes as if there were no cache. */
int dir_cache_lookup(struct dir_cache *dc, const char *rel, size_t len,
    struct dir_info *out);
/* The settle time in ms (tests shorten it; 0 still needs the ctime to be
 * in an earlier clock tick than the lookup). */
void dir_cache_settle(struct dir_cache *dc, int ms);
/* Directories scanned since dir_cache_new (tests). */
unsigned long dir_cache_scans(const struct dir_cache *dc);

#endif
