#include "server/dircache.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "server/encoding.h"
#include "server/path.h"

/* The kernel's record for getdents64(2). */
struct dir_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct dir_slot {
	dev_t dev;
	ino_t ino;
	struct timespec ctim;
	struct timespec mtim;
	struct dir_info info;
	int used;
};

struct dir_cache {
	int rootfd;
	int64_t settle_ns;
	unsigned long scans;
	struct dir_slot slots[DIR_CACHE_SLOTS];
};

/* Every sibling suffix: what a directory not known may hold. */
#define DIR_ALL_SUFFIXES (((1u << ENC_COUNT) - 1) & ~ENC_BIT(ENC_IDENTITY))

struct dir_cache *
dir_cache_new(int rootfd)
{
	struct dir_cache *dc;

	if ((dc = calloc(1, sizeof(*dc))) == NULL)
		return NULL;
	dc->rootfd = rootfd;
	dc->settle_ns = (int64_t)DIR_SETTLE_MS * 1000000;
	return dc;
}

void
dir_cache_free(struct dir_cache *dc)
{
	free(dc);
}

void
dir_cache_settle(struct dir_cache *dc, int ms)
{
	dc->settle_ns = (int64_t)ms * 1000000;
}

unsigned long
dir_cache_scans(const struct dir_cache *dc)
{
	return dc->scans;
}

static int64_t
dir_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static struct dir_slot *
dir_slot_of(struct dir_cache *dc, const struct stat *st)
{
	uint64_t h = ((uint64_t)st->st_ino ^ ((uint64_t)st->st_dev << 32)) *
	    0x9e3779b97f4a7c15ull;

	return &dc->slots[(h >> 32) % DIR_CACHE_SLOTS];
}

static int
dir_slot_matches(const struct dir_slot *s, const struct stat *st)
{
	return s->used && s->ino == st->st_ino && s->dev == st->st_dev &&
	    s->ctim.tv_sec == st->st_ctim.tv_sec &&
	    s->ctim.tv_nsec == st->st_ctim.tv_nsec &&
	    s->mtim.tv_sec == st->st_mtim.tv_sec &&
	    s->mtim.tv_nsec == st->st_mtim.tv_nsec;
}

/* One entry's share of the directory's info. */
static void
dir_note(struct dir_info *info, unsigned char type, const char *name)
{
	size_t len = strlen(name);

	if (type != DT_REG && type != DT_DIR)
		info->plain = 0;   /* DT_UNKNOWN too: the filesystem did not say */
	for (int e = ENC_BR; e < ENC_COUNT; e++) {
		const char *suf = enc_suffix(e);
		size_t n = strlen(suf);

		if (len > n && memcmp(name + len - n, suf, n) == 0)
			info->suffixes |= ENC_BIT(e);
	}
}

/* Reads the names of dir (relative to the root, "" the root itself), which
 * must still be the directory st describes. 0 with *info, or -1. */
static int
dir_scan(struct dir_cache *dc, const char *dir, const struct stat *st,
    struct dir_info *info)
{
	char buf[16384] __attribute__((aligned(8)));
	struct stat fst;
	long n, count = 0;
	int fd, rc = -1;

	/* Beneath the root: names of directories outside it are not read. */
	if ((fd = path_open_beneath(dc->rootfd, dir, O_RDONLY | O_DIRECTORY)) == -1)
		return -1;
	dc->scans++;
	if (fstat(fd, &fst) == -1 || fst.st_dev != st->st_dev || fst.st_ino != st->st_ino)
		goto out;
	info->suffixes = 0;
	info->plain = 1;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n; ) {
			const struct dir_dirent64 *d = (const void *)(buf + off);

			dir_note(info, d->d_type, d->d_name);
			off += d->d_reclen;
			count++;
		}
		if (count > DIR_SCAN_MAX) {
			/* Too big to scan on a miss: assume anything, until it changes. */
			info->suffixes = DIR_ALL_SUFFIXES;
			info->plain = 0;
			n = 0;
			break;
		}
	}
	rc = n == 0 ? 0 : -1;
out:
	close(fd);
	return rc;
}

int
dir_cache_lookup(struct dir_cache *dc, const char *rel, size_t len,
    struct dir_info *out)
{
	char dir[PATH_MAX];
	struct timespec now;
	struct dir_info info;
	struct dir_slot *s;
	struct stat st;
	size_t n = len;

	while (n > 0 && rel[n - 1] != '/')
		n--;
	n = n > 0 ? n - 1 : 0;          /* without the '/' */
	if (n >= sizeof(dir))
		return -1;
	memcpy(dir, rel, n);
	dir[n] = '\0';
	/* The clock before the stat: any change after the stat gets a ctime
	 * at or after now, so a ctime before now (less the settle time) is
	 * one that no later change can repeat. */
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	if (fstatat(dc->rootfd, dir, &st, n == 0 ? AT_EMPTY_PATH : 0) == -1 ||
	    !S_ISDIR(st.st_mode))
		return -1;
	s = dir_slot_of(dc, &st);
	if (!dir_slot_matches(s, &st)) {
		if (dir_ns(&st.st_ctim) >= dir_ns(&now) - dc->settle_ns ||
		    dir_scan(dc, dir, &st, &info) == -1)
			return -1;
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		s->ctim = st.st_ctim;
		s->mtim = st.st_mtim;
		s->info = info;
		s->used = 1;
	}
	*out = s->info;
	return 0;
}
