#include "server/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "server/dircache.h"
#include "server/encoding.h"
#include "server/http_util.h"
#include "server/path.h"

struct file_cache {
	int rootfd;
	int n;
	int fresh;                 /* slots handed out so far: the rest untouched */
	int probe;                 /* look for precompressed siblings */
	int hand;                  /* clock hand */
	struct dir_cache *dirs;    /* what each directory holds (dircache.h) */
	int count;                 /* hashed entries */
	uint32_t mask;             /* buckets - 1 */
	int *buckets;
	struct file_entry *entries;
	char *bodies;              /* n * FILE_BODY_MAX, mapped, touched only when used */
};

static uint32_t
file_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

struct file_cache *
file_cache_new(int rootfd, int n)
{
	struct file_cache *fc;
	uint32_t nb = 16;
	int i;

	if ((fc = calloc(1, sizeof(*fc))) == NULL)
		return NULL;
	fc->rootfd = rootfd;
	fc->n = n > 0 ? n : 1;
	while (nb < (uint32_t)fc->n * 2)
		nb <<= 1;
	fc->mask = nb - 1;
	fc->buckets = malloc(nb * sizeof(*fc->buckets));
	fc->entries = calloc(fc->n, sizeof(*fc->entries));
	/* Mapped, not malloc'd: page-aligned, a 4 KiB body is one page, not
	 * two; the reservation is address space, not memory. */
	fc->bodies = mmap(NULL, (size_t)fc->n * FILE_BODY_MAX, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (fc->bodies == MAP_FAILED)
		fc->bodies = NULL;
	fc->dirs = dir_cache_new(rootfd);
	if (fc->buckets == NULL || fc->entries == NULL || fc->bodies == NULL ||
	    fc->dirs == NULL) {
		file_cache_free(fc);
		return NULL;
	}
	for (i = 0; i < (int)nb; i++)
		fc->buckets[i] = -1;
	/* Slots are set up as first used (file_victim): a large cache costs
	 * no memory until it fills. */
	return fc;
}

void
file_cache_free(struct file_cache *fc)
{
	int i;

	if (fc == NULL)
		return;
	for (i = 0; fc->entries != NULL && i < fc->fresh; i++) {
		if (fc->entries[i].fd != -1)
			close(fc->entries[i].fd);
	}
	free(fc->buckets);
	free(fc->entries);
	if (fc->bodies != NULL)
		munmap(fc->bodies, (size_t)fc->n * FILE_BODY_MAX);
	dir_cache_free(fc->dirs);
	free(fc);
}

int
file_cache_count(const struct file_cache *fc)
{
	return fc->count;
}

struct dir_cache *
file_cache_dirs(struct file_cache *fc)
{
	return fc->dirs;
}

static void
file_unhash(struct file_cache *fc, struct file_entry *e)
{
	int idx = (int)(e - fc->entries);
	int *pp;

	if (!e->hashed)
		return;
	for (pp = &fc->buckets[e->hash & fc->mask]; *pp != -1; pp = &fc->entries[*pp].next) {
		if (*pp == idx) {
			*pp = e->next;
			break;
		}
	}
	e->next = -1;
	e->hashed = 0;
	fc->count--;
}

/* Closes an entry that is neither hashed nor pinned. */
static void
file_release(struct file_cache *fc, struct file_entry *e)
{
	if (e->fd != -1)
		close(e->fd);
	e->fd = -1;
	if (e->oneoff) {
		free(e->body);
		free(e);
		return;
	}
	(void)fc;
}

void
file_cache_probe_siblings(struct file_cache *fc, int on)
{
	fc->probe = on;
}

/* What the directory cache says of rel's directory; a directory it does
 * not know may hold any sibling and any type of file. */
static struct dir_info
file_dir(struct file_cache *fc, const char *rel, size_t len)
{
	struct dir_info di;

	if (dir_cache_lookup(fc->dirs, rel, len, &di) == -1) {
		di.suffixes = ENC_BIT(ENC_BR) | ENC_BIT(ENC_ZSTD) | ENC_BIT(ENC_GZIP);
		di.plain = 0;
	}
	return di;
}

/* Which of rel.br, rel.zst, rel.gz are regular files not older than st,
 * looking only for the suffixes some name in the directory ends in
 * (di, or found here when NULL). Only a hint: the sibling is opened
 * beneath the root and checked again before it is served. */
static unsigned
file_probe(struct file_cache *fc, const char *rel, size_t len,
    const struct stat *st, const struct dir_info *di)
{
	char path[FILE_KEY_MAX + 8];
	struct dir_info found;
	struct stat s;
	unsigned mask = 0;

	if (!fc->probe || len >= FILE_KEY_MAX || enc_is_sibling_name(rel, len))
		return 0;
	if (di == NULL) {
		found = file_dir(fc, rel, len);
		di = &found;
	}
	for (int e = ENC_BR; e < ENC_COUNT; e++) {
		if (!(di->suffixes & ENC_BIT(e)))
			continue;   /* no such name in the directory */
		snprintf(path, sizeof(path), "%.*s%s", (int)len, rel, enc_suffix(e));
		/* Whole seconds: brotli(1) copies the mtime without its
		 * nanoseconds, and HTTP dates have none either. */
		if (fstatat(fc->rootfd, path, &s, 0) == 0 && S_ISREG(s.st_mode) &&
		    s.st_mtim.tv_sec >= st->st_mtim.tv_sec)
			mask |= ENC_BIT(e);
	}
	return mask;
}

static struct file_entry *
file_lookup(struct file_cache *fc, const char *rel, size_t len, uint32_t h, int enc)
{
	int i;

	for (i = fc->buckets[h & fc->mask]; i != -1; i = fc->entries[i].next) {
		struct file_entry *e = &fc->entries[i];

		if (e->hash == h && e->keylen == len && e->enc == enc &&
		    memcmp(e->key, rel, len) == 0)
			return e;
	}
	return NULL;
}

/* A slot never used while there is one, then the clock: the first
 * unpinned slot whose reference bit is clear. */
static struct file_entry *
file_victim(struct file_cache *fc)
{
	struct file_entry *e;
	int step;

	if (fc->fresh < fc->n) {
		e = &fc->entries[fc->fresh++];
		e->fd = -1;
		e->next = -1;
		return e;
	}
	for (step = 0; step < 2 * fc->n; step++) {
		e = &fc->entries[fc->hand];
		fc->hand = (fc->hand + 1) % fc->n;
		if (e->refs > 0)
			continue;
		if (e->hashed && e->used) {
			e->used = 0;
			continue;
		}
		file_unhash(fc, e);
		file_release(fc, e);
		return e;
	}
	return NULL;
}

static void
file_hdr_add(struct file_entry *e, const char *name, const char *value, size_t vlen)
{
	size_t nlen = strlen(name);

	if (e->hdr_len + nlen + vlen + 4 > sizeof(e->hdr))
		return;
	memcpy(e->hdr + e->hdr_len, name, nlen);
	e->hdr_len += nlen;
	e->hdr[e->hdr_len++] = ':';
	e->hdr[e->hdr_len++] = ' ';
	memcpy(e->hdr + e->hdr_len, value, vlen);
	e->hdr_len += vlen;
	e->hdr[e->hdr_len++] = '\r';
	e->hdr[e->hdr_len++] = '\n';
}

/* A coded representation's ETag: the sibling's own with "-br", "-zstd"
 * or "-gzip" before the closing quote, so it never equals the ETag the
 * same file has when asked for by its own name. */
static void
file_etag_enc(struct file_entry *e)
{
	const char *name = enc_name(e->enc);
	size_t n = strlen(name);

	if (e->etag_len < 2 || e->etag[e->etag_len - 1] != '"' ||
	    e->etag_len + n + 2 > sizeof(e->etag))
		return;
	e->etag[e->etag_len - 1] = '-';
	memcpy(e->etag + e->etag_len, name, n);
	e->etag_len += n;
	e->etag[e->etag_len++] = '"';
	e->etag[e->etag_len] = '\0';
}

/* Fills e (fd, st, enc set) with its validators, header block and body. */
static void
file_prepare(struct file_entry *e, const char *rel, size_t len, char *bodybuf)
{
	ssize_t n;

	e->ctype = mime_type(rel, len - strlen(enc_suffix(e->enc)));
	e->etag_len = etag_make(&e->st, e->etag, sizeof(e->etag));
	if (e->enc != 0)
		file_etag_enc(e);
	http_date_format(e->st.st_mtime, e->lastmod);
	e->hdr_len = 0;
	file_hdr_add(e, "Content-Type", e->ctype, strlen(e->ctype));
	file_hdr_add(e, "Last-Modified", e->lastmod, HTTP_DATE_LEN);
	file_hdr_add(e, "ETag", e->etag, e->etag_len);
	file_hdr_add(e, "Accept-Ranges", "bytes", 5);
	e->body = NULL;
	if (bodybuf != NULL && e->st.st_size <= FILE_BODY_MAX) {
		n = e->st.st_size > 0 ? pread(e->fd, bodybuf, e->st.st_size, 0) : 0;
		/* A short read means the file changed under us: use sendfile. */
		if (n == e->st.st_size)
			e->body = bodybuf;
	}
}

/* The type of rel beneath the root, found without opening it for reading
 * (O_PATH): opening a FIFO would release a writer blocked on it. Returns
 * 0, or -1 with errno EISDIR, EPERM (not a regular file) or the open's. */
static int
file_check_type(struct file_cache *fc, const char *rel)
{
	struct stat st;
	int fd, err = 0;

	/* First a plain stat, which follows links wherever they lead: when it
	 * finds a regular file, the open beneath the root either reaches that
	 * same file or fails, so it is safe. Anything else (a FIFO, a missing
	 * name, a link out of the root) gets the exact check and its errno. */
	if (fstatat(fc->rootfd, rel, &st, 0) == 0 && S_ISREG(st.st_mode))
		return 0;
	if ((fd = path_open_beneath(fc->rootfd, rel, O_PATH)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		err = errno;
	else if (S_ISDIR(st.st_mode))
		err = EISDIR;
	else if (!S_ISREG(st.st_mode))
		err = EPERM;
	close(fd);
	errno = err;
	return err != 0 ? -1 : 0;
}

/* Opens rel beneath the root; a regular file only. In a plain directory
 * (dircache.h: only regular files and directories a moment ago) the name
 * cannot be a FIFO, so the type check before the open is skipped. Returns
 * the fd or -1. */
static int
file_open(struct file_cache *fc, const char *rel, int plain, struct stat *st)
{
	int fd, err;

	if (!plain && file_check_type(fc, rel) == -1)
		return -1;
	/* O_NONBLOCK: should the name become a FIFO after the check, the open
	 * must still not block the worker (the fstat below refuses it). */
	if ((fd = path_open_beneath(fc->rootfd, rel, O_RDONLY | O_NONBLOCK)) == -1)
		return -1;
	if (fstat(fd, st) == -1)
		goto fail;
	if (S_ISDIR(st->st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		errno = EPERM;
		goto fail;
	}
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static struct file_entry *
file_oneoff(void)
{
	struct file_entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->body = malloc(FILE_BODY_MAX)) == NULL) {
		free(e);
		return NULL;
	}
	e->oneoff = 1;
	e->fd = -1;
	e->next = -1;
	return e;
}

static int
file_insert(struct file_cache *fc, const char *rel, size_t len, uint32_t h,
    int enc, int64_t now_ms, struct file_entry **out)
{
	struct dir_info di = file_dir(fc, rel, len);
	struct file_entry *e = NULL;
	struct stat st;
	char *bodybuf;
	int fd;

	if ((fd = file_open(fc, rel, di.plain, &st)) == -1)
		return -1;
	if (len < FILE_KEY_MAX)
		e = file_victim(fc);
	if (e == NULL) {
		if ((e = file_oneoff()) == NULL) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		bodybuf = e->body;
	} else
		bodybuf = fc->bodies + (size_t)(e - fc->entries) * FILE_BODY_MAX;
	e->fd = fd;
	e->st = st;
	e->enc = (unsigned char)enc;
	e->siblings = enc == 0 ? (unsigned char)file_probe(fc, rel, len, &st, &di) : 0;
	file_prepare(e, rel, len, bodybuf);
	if (e->oneoff && e->body == NULL) {
		free(bodybuf);
	}
	e->checked_ms = now_ms;
	e->used_ms = now_ms;
	e->refs = 1;
	e->used = 1;
	if (len < FILE_KEY_MAX) {
		/* One-off entries keep the name too: a sibling is found by it. */
		memcpy(e->key, rel, len);
		e->key[len] = '\0';
		e->keylen = len;
	}
	if (!e->oneoff) {
		e->hash = h;
		e->next = fc->buckets[h & fc->mask];
		fc->buckets[h & fc->mask] = (int)(e - fc->entries);
		e->hashed = 1;
		fc->count++;
	}
	*out = e;
	return 0;
}

int
file_cache_revalidate(struct file_cache *fc, struct file_entry *e, int64_t now_ms)
{
	struct stat st;

	e->checked_ms = now_ms;
	/* The path may now name another file, or a symlink out of the root: a
	 * different inode sends it back through path_open_beneath. */
	if (fstatat(fc->rootfd, e->key, &st, 0) == 0 && st.st_ino == e->st.st_ino &&
	    st.st_dev == e->st.st_dev && st.st_size == e->st.st_size &&
	    st.st_mtim.tv_sec == e->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == e->st.st_mtim.tv_nsec && S_ISREG(st.st_mode) &&
	    (e->enc != 0 || file_probe(fc, e->key, e->keylen, &e->st, NULL) == e->siblings))
		return 0;
	file_unhash(fc, e);
	return 1;
}

static int
file_get(struct file_cache *fc, const char *rel, size_t len, int enc,
    int64_t now_ms, struct file_entry **out)
{
	uint32_t h = file_hash(rel, len);
	struct file_entry *e;

	if (len < FILE_KEY_MAX && (e = file_lookup(fc, rel, len, h, enc)) != NULL) {
		e->refs++;
		if (now_ms - e->checked_ms < FILE_CHECK_MS ||
		    file_cache_revalidate(fc, e, now_ms) == 0) {
			e->used = 1;
			e->used_ms = now_ms;
			*out = e;
			return 0;
		}
		file_cache_put(fc, e);
	}
	return file_insert(fc, rel, len, h, enc, now_ms, out);
}

int
file_cache_get(struct file_cache *fc, const char *rel, size_t len,
    int64_t now_ms, struct file_entry **out)
{
	return file_get(fc, rel, len, 0, now_ms, out);
}

int
file_cache_get_enc(struct file_cache *fc, const char *rel, size_t len,
    int enc, int64_t now_ms, struct file_entry **out)
{
	char key[PATH_MAX + 8];
	const char *suf = enc_suffix(enc);
	size_t n = strlen(suf);

	if (enc <= 0 || enc >= ENC_COUNT || len + n >= sizeof(key)) {
		errno = ENOENT;
		return -1;
	}
	memcpy(key, rel, len);
	memcpy(key + len, suf, n + 1);
	return file_get(fc, key, len + n, enc, now_ms, out);
}

void
file_cache_put(struct file_cache *fc, struct file_entry *e)
{
	if (--e->refs > 0 || e->hashed)
		return;
	file_release(fc, e);
}

void
file_cache_drop_all(struct file_cache *fc)
{
	int i;

	for (i = 0; i < fc->fresh; i++) {
		struct file_entry *e = &fc->entries[i];

		if (!e->hashed)
			continue;
		file_unhash(fc, e);
		if (e->refs == 0)
			file_release(fc, e);
	}
}

int
file_cache_sweep(struct file_cache *fc, int64_t now_ms, int64_t idle_ms)
{
	int i, closed = 0;

	for (i = 0; i < fc->fresh; i++) {
		struct file_entry *e = &fc->entries[i];

		if (!e->hashed || e->refs > 0 || now_ms - e->used_ms <= idle_ms)
			continue;
		file_unhash(fc, e);
		file_release(fc, e);
		closed++;
	}
	return closed;
}
