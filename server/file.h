/*
 * The per-worker open-file cache (docs/ARCHITECTURE.md: The life of a request): regular files beneath the
 * root, keyed by their decoded relative path, each with its open fd, its
 * stat, a prepared header block and, for small files, the body itself, so a
 * keep-alive hit costs one read and one write.
 *
 * A miss asks the directory cache (server/dircache.h) which siblings can
 * exist and whether the name can be anything but a file or a directory,
 * so in a settled directory it costs a stat of the directory, the open
 * and its fstat.
 *
 * Entries are allocated once at init, and their pages touched only as they
 * are first used, so a cache sized for every file a site has (the worker's
 * descriptor budget allows open_file_cache entries) costs memory only for
 * the files served: the entry, and a small file's body. An entry not asked
 * for in open_file_cache_inactive is closed by file_cache_sweep, so a file
 * removed from the root does not keep its disk space for long.
 *
 * A hit is revalidated with fstatat at most once per FILE_CHECK_MS: a changed inode, size or mtime drops it and
 * the file is opened again. Entries in use by a response are pinned (refs);
 * one that goes stale while pinned is unhashed and closed by its last put.
 * Eviction is the clock algorithm over unpinned entries. When every slot is
 * pinned a one-off entry is allocated and freed by its put (rare).
 */
#ifndef PREFORKD_FILE_H
#define PREFORKD_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define FILE_KEY_MAX 256          /* longer paths use one-off entries */
#define FILE_BODY_MAX 16384       /* bodies up to this size live in memory */
#define FILE_CHECK_MS 1000
#define FILE_HDR_MAX 320

struct file_entry {
	int fd;
	struct stat st;
	const char *ctype;
	char etag[64];
	size_t etag_len;
	char lastmod[32];          /* IMF-fixdate */
	/* "Content-Type: ..\r\nLast-Modified: ..\r\nETag: ..\r\nAccept-Ranges: bytes\r\n" */
	char hdr[FILE_HDR_MAX];
	size_t hdr_len;
	char *body;                /* whole body when st_size <= FILE_BODY_MAX, else NULL */
	/* Precompressed siblings (server/encoding.h): enc is the coding this
	 * entry stands for (its file is the key, FILE.gz say, its ctype and
	 * ETag those of FILE's gzip representation), 0 for a file as itself.
	 * siblings has ENC_BIT(e) for each FILE+suffix that existed as a
	 * regular file not older than FILE when last probed (0 unless the
	 * cache probes). */
	unsigned char enc;
	unsigned char siblings;

	/* private */
	char key[FILE_KEY_MAX];
	size_t keylen;
	uint32_t hash;
	int64_t checked_ms;
	int64_t used_ms;           /* last asked for: file_cache_sweep */
	int refs;
	int hashed;
	int oneoff;
	int used;                  /* clock reference bit */
	int next;                  /* hash chain, -1 ends */
};

struct file_cache;

/* A cache of n entries over the root directory rootfd (not owned). */
struct file_cache *file_cache_new(int rootfd, int n);
void file_cache_free(struct file_cache *fc);

/*
 * Finds or opens the regular file rel (decoded, relative, NUL-terminated,
 * length len) and pins it. Returns 0 with *out, or -1 with errno: ENOENT,
 * ENOTDIR, EACCES, EXDEV, ELOOP from the open; EISDIR for a directory;
 * EPERM for anything not a regular file (FIFO, device, socket); ENOMEM.
 */
int file_cache_get(struct file_cache *fc, const char *rel, size_t len,
    int64_t now_ms, struct file_entry **out);
/* The representation of rel in coding enc (ENC_*): opens rel plus its
 * suffix beneath the root, with rel's Content-Type and an ETag of its own.
 * Same results as file_cache_get; the caller checks it is not older. */
int file_cache_get_enc(struct file_cache *fc, const char *rel, size_t len,
    int enc, int64_t now_ms, struct file_entry **out);
/* Turns the sibling probe of new and revalidated entries on or off. */
void file_cache_probe_siblings(struct file_cache *fc, int on);
/* Unpins an entry returned by file_cache_get. */
void file_cache_put(struct file_cache *fc, struct file_entry *e);
/* Revalidates e now: 0 when still current, 1 when it changed (it is then
 * unhashed; the caller still holds its pin). */
int file_cache_revalidate(struct file_cache *fc, struct file_entry *e, int64_t now_ms);
/* Drops every entry (REOPEN_LOGS, reload): pinned ones close on their put. */
void file_cache_drop_all(struct file_cache *fc);
/* Closes every unpinned entry last asked for before now_ms - idle_ms;
 * returns how many. */
int file_cache_sweep(struct file_cache *fc, int64_t now_ms, int64_t idle_ms);
/* Entries currently hashed (tests). */
int file_cache_count(const struct file_cache *fc);
/* The directory cache that spares a miss its type check and sibling
 * probes (server/dircache.h; tests shorten its settle time). */
struct dir_cache *file_cache_dirs(struct file_cache *fc);

#endif
