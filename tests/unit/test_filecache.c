/* The open-file cache: hits, revalidation on its injected clock, eviction,
 * pinning and file types. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/file.h"
#include "tests/unit/tmpdir.h"

static char base[64];
static int rootfd = -1;
static struct file_cache *fc;

static void
setup(void)
{
	strcpy(base, "/tmp/test_filecache.XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	rootfd = open(base, O_PATH | O_DIRECTORY);
	cr_assert_geq(rootfd, 0);
	tmpdir_put(rootfd, "a.txt", "one\n", 1700000000);
	tmpdir_put(rootfd, "b.css", "b{}", 1700000000);
	tmpdir_put(rootfd, "c.js", "c()", 1700000000);
	cr_assert_eq(mkdirat(rootfd, "dir", 0755), 0);
	fc = file_cache_new(rootfd, 2);
	cr_assert_not_null(fc);
}

static void
teardown(void)
{
	file_cache_free(fc);
	close(rootfd);
	tmpdir_remove(base);
}

TestSuite(filecache, .init = setup, .fini = teardown);

static struct file_entry *
get(const char *rel, int64_t now)
{
	struct file_entry *e = NULL;

	cr_assert_eq(file_cache_get(fc, rel, strlen(rel), now, &e), 0, "%s: %s", rel,
	    strerror(errno));
	return e;
}

static int
get_err(const char *rel)
{
	struct file_entry *e;

	cr_assert_eq(file_cache_get(fc, rel, strlen(rel), 0, &e), -1, "%s", rel);
	return errno;
}

Test(filecache, hit_returns_the_same_entry_with_prepared_headers)
{
	struct file_entry *e = get("a.txt", 0), *e2;

	cr_assert_eq(e->st.st_size, 4);
	cr_assert_not_null(e->body);
	cr_assert_eq(memcmp(e->body, "one\n", 4), 0);
	cr_assert_str_eq(e->lastmod, "Tue, 14 Nov 2023 22:13:20 GMT");
	e->hdr[e->hdr_len] = '\0';
	cr_assert_not_null(strstr(e->hdr, "Content-Type: text/plain; charset=utf-8\r\n"
	    "Last-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\nETag: \""));
	cr_assert_not_null(strstr(e->hdr, "\"\r\nAccept-Ranges: bytes\r\n"));
	e2 = get("a.txt", 10);
	cr_assert_eq(e, e2);
	cr_assert_eq(file_cache_count(fc), 1);
	file_cache_put(fc, e);
	file_cache_put(fc, e2);
}

Test(filecache, change_seen_only_after_the_check_interval)
{
	struct file_entry *e = get("a.txt", 1000);
	char etag[64];

	strcpy(etag, e->etag);
	file_cache_put(fc, e);
	tmpdir_put(rootfd, "a.txt", "second\n", 1700000100);
	e = get("a.txt", 1000 + FILE_CHECK_MS - 1);
	cr_assert_eq(e->st.st_size, 4, "within the interval the cached stat stands");
	file_cache_put(fc, e);
	e = get("a.txt", 1000 + FILE_CHECK_MS);
	cr_assert_eq(e->st.st_size, 7);
	cr_assert_eq(memcmp(e->body, "second\n", 7), 0);
	cr_assert_str_neq(e->etag, etag);
	cr_assert_str_eq(e->lastmod, "Tue, 14 Nov 2023 22:15:00 GMT");
	file_cache_put(fc, e);
}

Test(filecache, same_size_new_mtime_is_a_change)
{
	struct file_entry *e = get("a.txt", 0);
	time_t old = e->st.st_mtime;

	file_cache_put(fc, e);
	tmpdir_put(rootfd, "a.txt", "two\n", 1700000500);
	cr_assert_eq(file_cache_revalidate(fc, e, 5), 1);
	e = get("a.txt", 5);
	cr_assert_neq(e->st.st_mtime, old);
	cr_assert_eq(memcmp(e->body, "two\n", 4), 0);
	cr_assert_eq(file_cache_revalidate(fc, e, 6), 0);
	file_cache_put(fc, e);
}

Test(filecache, unlinked_file_is_gone_after_revalidation)
{
	struct file_entry *e;

	file_cache_put(fc, get("a.txt", 0));
	cr_assert_eq(unlinkat(rootfd, "a.txt", 0), 0);
	cr_assert_eq(file_cache_get(fc, "a.txt", 5, FILE_CHECK_MS, &e), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(file_cache_count(fc), 0);
}

Test(filecache, pinned_stale_entry_stays_usable_until_put)
{
	struct file_entry *old = get("a.txt", 0), *cur;
	char buf[4];

	tmpdir_put(rootfd, "a.txt", "newer!\n", 1700000900);
	cur = get("a.txt", FILE_CHECK_MS);
	cr_assert_neq(old, cur);
	/* The old response still reads its own (unlinked-from-cache) fd. */
	cr_assert_eq(pread(old->fd, buf, 4, 0), 4);
	cr_assert_eq(old->st.st_size, 4);
	file_cache_put(fc, old);
	cr_assert_eq(old->fd, -1, "closed by its last put");
	file_cache_put(fc, cur);
	cr_assert_eq(file_cache_count(fc), 1);
}

Test(filecache, bounded_with_clock_eviction)
{
	file_cache_put(fc, get("a.txt", 0));
	file_cache_put(fc, get("b.css", 0));
	file_cache_put(fc, get("c.js", 0));
	cr_assert_eq(file_cache_count(fc), 2);
	file_cache_put(fc, get("a.txt", 0));
	cr_assert_eq(file_cache_count(fc), 2);
}

/* True when rel comes from the cache: its file was rewritten on disk at
 * now 0, so only a cached entry (not revalidated yet) has the old body. */
static bool
cached_body(const char *rel, const char *old)
{
	struct file_entry *e = get(rel, 0);
	bool hit = e->body != NULL && memcmp(e->body, old, strlen(old)) == 0;

	file_cache_put(fc, e);
	return hit;
}

Test(filecache, clock_gives_a_used_entry_a_second_chance)
{
	/* Three slots: a, b, c fill them; d sweeps every bit clear and takes
	 * a's slot, leaving the hand on b. A hit sets b's bit again, so the
	 * next insertion passes b (clearing it) and evicts c, the entry not
	 * used since the sweep. FIFO or ignoring the bit would evict b. */
	file_cache_free(fc);
	fc = file_cache_new(rootfd, 3);
	cr_assert_not_null(fc);
	tmpdir_put(rootfd, "d.txt", "dd\n", 1700000000);
	file_cache_put(fc, get("a.txt", 0));
	file_cache_put(fc, get("b.css", 0));
	file_cache_put(fc, get("c.js", 0));
	file_cache_put(fc, get("d.txt", 0));
	file_cache_put(fc, get("b.css", 0));
	file_cache_put(fc, get("a.txt", 0));
	cr_assert_eq(file_cache_count(fc), 3);
	tmpdir_put(rootfd, "a.txt", "ONE\n", 1700000100);
	tmpdir_put(rootfd, "b.css", "B{}", 1700000100);
	tmpdir_put(rootfd, "c.js", "C()", 1700000100);
	tmpdir_put(rootfd, "d.txt", "DD\n", 1700000100);
	cr_assert(cached_body("b.css", "b{}"), "b was used since the sweep: kept");
	cr_assert(cached_body("d.txt", "dd\n"));
	cr_assert(cached_body("a.txt", "one\n"));
	cr_assert_not(cached_body("c.js", "c()"), "c was the victim");
}

Test(filecache, all_pinned_gives_a_one_off_entry)
{
	struct file_entry *a = get("a.txt", 0), *b = get("b.css", 0), *c = get("c.js", 0);

	cr_assert_eq(file_cache_count(fc), 2);
	cr_assert_eq(c->st.st_size, 3);
	cr_assert_eq(memcmp(c->body, "c()", 3), 0);
	file_cache_put(fc, c);
	file_cache_put(fc, a);
	file_cache_put(fc, b);
	cr_assert_eq(file_cache_count(fc), 2);
}

Test(filecache, large_body_is_not_in_memory)
{
	char *big = malloc(FILE_BODY_MAX + 2);
	struct file_entry *e;

	memset(big, 'x', FILE_BODY_MAX + 1);
	big[FILE_BODY_MAX + 1] = '\0';
	tmpdir_put(rootfd, "big.bin", big, 1700000000);
	e = get("big.bin", 0);
	cr_assert_null(e->body);
	cr_assert_eq(e->st.st_size, FILE_BODY_MAX + 1);
	file_cache_put(fc, e);
	free(big);
}

Test(filecache, types_and_escapes)
{
	cr_assert_eq(get_err("dir"), EISDIR);
	cr_assert_eq(get_err("missing"), ENOENT);
	cr_assert_eq(get_err("a.txt/x"), ENOTDIR);
	cr_assert_eq(mkfifoat(rootfd, "fifo", 0644), 0);
	cr_assert_eq(get_err("fifo"), EPERM, "a FIFO opens without blocking and is refused");
	cr_assert_eq(symlinkat("/etc/passwd", rootfd, "out"), 0);
	{
		int err = get_err("out");

		cr_assert(err == EXDEV || err == ELOOP, "%s", strerror(err));
	}
	cr_assert_eq(file_cache_count(fc), 0);
}

Test(filecache, drop_all)
{
	struct file_entry *a = get("a.txt", 0);

	file_cache_put(fc, get("b.css", 0));
	file_cache_drop_all(fc);
	cr_assert_eq(file_cache_count(fc), 0);
	cr_assert_geq(a->fd, 0, "a pinned entry survives until its put");
	file_cache_put(fc, a);
	cr_assert_eq(a->fd, -1);
}

Test(filecache, sweep_closes_what_was_not_asked_for_lately)
{
	struct file_entry *b;

	file_cache_put(fc, get("a.txt", 0));
	b = get("b.css", 0);
	file_cache_put(fc, get("a.txt", 950));    /* a hit counts as a use */
	cr_assert_eq(file_cache_sweep(fc, 1500, 1000), 0, "nothing idle 1 s yet");
	cr_assert_eq(file_cache_sweep(fc, 1901, 1000), 0, "b is pinned: kept");
	file_cache_put(fc, b);
	cr_assert_eq(file_cache_sweep(fc, 1901, 1000), 1, "b idle, now unpinned");
	cr_assert_eq(file_cache_count(fc), 1);
	cr_assert_eq(file_cache_sweep(fc, 1901, 1000), 0, "a used at 950");
	cr_assert_eq(file_cache_sweep(fc, 1901, 950), 1);
	cr_assert_eq(file_cache_count(fc), 0);
	/* A swept slot serves again. */
	file_cache_put(fc, get("c.js", 2000));
	file_cache_put(fc, get("b.css", 2000));
	cr_assert_eq(file_cache_count(fc), 2);
}
