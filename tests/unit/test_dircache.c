/* The directory cache behind the file cache's misses (server/dircache.h):
 * what it learns of a directory, that any change to the directory is seen
 * at the next lookup, and that the file cache built on it still finds new
 * siblings and still never opens a FIFO. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server/dircache.h"
#include "server/encoding.h"
#include "server/file.h"
#include "tests/unit/tmpdir.h"

static char base[64];
static int rootfd = -1;
static struct dir_cache *dc;

static void
setup(void)
{
	strcpy(base, "/tmp/test_dircache.XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	rootfd = open(base, O_PATH | O_DIRECTORY);
	cr_assert_geq(rootfd, 0);
	cr_assert_eq(mkdirat(rootfd, "d", 0755), 0);
	cr_assert_eq(mkdirat(rootfd, "d/sub", 0755), 0);
	tmpdir_put(rootfd, "d/a.js", "a", 1700000000);
	tmpdir_put(rootfd, "d/b.css", "b", 1700000000);
	tmpdir_put(rootfd, "top.html", "t", 1700000000);
	dc = dir_cache_new(rootfd);
	cr_assert_not_null(dc);
}

static void
teardown(void)
{
	dir_cache_free(dc);
	close(rootfd);
	tmpdir_remove(base);
}

TestSuite(dircache, .init = setup, .fini = teardown);

/* Past the clock tick of the last change, so settle time 0 lets it count
 * as settled. */
static void
settle(void)
{
	struct timespec ts = { 0, 30 * 1000000 };

	nanosleep(&ts, NULL);
}

static struct dir_info
lookup(const char *rel)
{
	struct dir_info di = { 0, 0 };

	cr_assert_eq(dir_cache_lookup(dc, rel, strlen(rel), &di), 0, "%s", rel);
	return di;
}

Test(dircache, fresh_directory_is_not_known)
{
	struct dir_info di;

	/* d changed a moment ago: within the default settle time */
	cr_assert_eq(dir_cache_lookup(dc, "d/a.js", 6, &di), -1);
	cr_assert_eq(dir_cache_scans(dc), 0);
}

Test(dircache, settled_directory_is_scanned_once)
{
	struct dir_info di;

	dir_cache_settle(dc, 0);
	settle();
	di = lookup("d/a.js");
	cr_assert_eq(di.suffixes, 0);
	cr_assert(di.plain);
	di = lookup("d/b.css");
	cr_assert_eq(dir_cache_scans(dc), 1);
	/* the root is a directory of its own */
	di = lookup("top.html");
	cr_assert(di.plain);
	cr_assert_eq(dir_cache_scans(dc), 2);
	cr_assert_eq(dir_cache_lookup(dc, "nodir/x", 7, &di), -1);
	cr_assert_eq(dir_cache_lookup(dc, "top.html/x", 10, &di), -1);
}

Test(dircache, new_names_are_seen_at_the_next_lookup)
{
	struct dir_info di;

	dir_cache_settle(dc, 0);
	settle();
	lookup("d/a.js");
	tmpdir_put(rootfd, "d/a.js.gz", "gz", 1700000000);
	settle();
	di = lookup("d/a.js");
	cr_assert_eq(di.suffixes, ENC_BIT(ENC_GZIP));
	cr_assert_eq(dir_cache_scans(dc), 2);
	tmpdir_put(rootfd, "d/b.css.br", "br", 1700000000);
	settle();
	di = lookup("d/a.js");
	cr_assert_eq(di.suffixes, ENC_BIT(ENC_GZIP) | ENC_BIT(ENC_BR));
	cr_assert(di.plain);
	cr_assert_eq(symlinkat("a.js", rootfd, "d/link"), 0);
	settle();
	di = lookup("d/a.js");
	cr_assert_not(di.plain, "a symlink may lead to anything");
}

Test(dircache, fifo_makes_a_directory_not_plain)
{
	struct dir_info di;

	dir_cache_settle(dc, 0);
	settle();
	cr_assert(lookup("d/a.js").plain);
	cr_assert_eq(mkfifoat(rootfd, "d/pipe", 0600), 0);
	settle();
	di = lookup("d/a.js");
	cr_assert_not(di.plain);
}

/* A writer blocked opening the FIFO d/pipe; its pid. */
static pid_t
blocked_writer(void)
{
	char path[128];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/d/pipe", base);
	if ((pid = fork()) == 0) {
		int fd = open(path, O_WRONLY);

		_exit(fd >= 0 ? 0 : 1);
	}
	cr_assert_gt(pid, 0);
	settle();
	return pid;
}

Test(dircache, file_cache_never_opens_a_fifo_in_a_known_directory)
{
	struct file_cache *fc = file_cache_new(rootfd, 4);
	struct file_entry *e;
	pid_t pid;
	int status;

	cr_assert_not_null(fc);
	dir_cache_settle(file_cache_dirs(fc), 0);
	settle();
	cr_assert_eq(file_cache_get(fc, "d/a.js", 6, 0, &e), 0);
	file_cache_put(fc, e);
	/* the cache knew d as plain; the FIFO made since must not be opened */
	cr_assert_eq(mkfifoat(rootfd, "d/pipe", 0600), 0);
	pid = blocked_writer();
	cr_assert_eq(file_cache_get(fc, "d/pipe", 6, 0, &e), -1);
	cr_assert_eq(errno, EPERM);
	settle();
	cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "the writer was released");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	file_cache_free(fc);
}

Test(dircache, file_cache_finds_a_sibling_made_after_the_scan)
{
	struct file_cache *fc = file_cache_new(rootfd, 4);
	struct file_entry *e;

	cr_assert_not_null(fc);
	file_cache_probe_siblings(fc, 1);
	dir_cache_settle(file_cache_dirs(fc), 0);
	settle();
	cr_assert_eq(file_cache_get(fc, "d/a.js", 6, 0, &e), 0);
	cr_assert_eq(e->siblings, 0);
	file_cache_put(fc, e);
	cr_assert_eq(dir_cache_scans(file_cache_dirs(fc)), 1);
	tmpdir_put(rootfd, "d/b.css.zst", "z", 1700000000);
	cr_assert_eq(file_cache_get(fc, "d/b.css", 7, 0, &e), 0);
	cr_assert_eq(e->siblings, ENC_BIT(ENC_ZSTD));
	file_cache_put(fc, e);
	file_cache_free(fc);
}
