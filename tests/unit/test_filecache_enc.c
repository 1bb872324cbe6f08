/* The file cache's side of precompressed siblings: the probe, coded
 * entries of their own, and one-off entries (every slot pinned). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/encoding.h"
#include "server/file.h"
#include "tests/unit/tmpdir.h"

static char base[64];
static int rootfd = -1;
static struct file_cache *fc;

static void
setup(void)
{
	strcpy(base, "/tmp/test_filecache_enc.XXXXXX");
	cr_assert_not_null(mkdtemp(base));
	rootfd = open(base, O_PATH | O_DIRECTORY);
	cr_assert_geq(rootfd, 0);
	tmpdir_put(rootfd, "a.js", "plain a", 1700000000);
	tmpdir_put(rootfd, "a.js.gz", "GZ", 1700000000);
	tmpdir_put(rootfd, "a.js.br", "BROTLI", 1700000001);
	tmpdir_put(rootfd, "a.js.zst", "old", 1699999999);
	tmpdir_put(rootfd, "b.js", "plain b", 1700000000);
	tmpdir_put(rootfd, "b.js.gz", "BGZ", 1700000000);
	fc = file_cache_new(rootfd, 1);
	cr_assert_not_null(fc);
	file_cache_probe_siblings(fc, 1);
}

static void
teardown(void)
{
	file_cache_free(fc);
	close(rootfd);
	tmpdir_remove(base);
}

TestSuite(filecache_enc, .init = setup, .fini = teardown);

Test(filecache_enc, probe_and_coded_entry)
{
	struct file_entry *e, *g;

	cr_assert_eq(file_cache_get(fc, "a.js", 4, 0, &e), 0);
	/* .zst is older than a.js: not offered */
	cr_assert_eq(e->siblings, ENC_BIT(ENC_BR) | ENC_BIT(ENC_GZIP));
	cr_assert_str_eq(e->ctype, "text/javascript; charset=utf-8");
	file_cache_put(fc, e);
	cr_assert_eq(file_cache_get_enc(fc, "a.js", 4, ENC_GZIP, 0, &g), 0);
	cr_assert_eq(g->enc, ENC_GZIP);
	cr_assert_eq(g->st.st_size, 2);
	cr_assert_str_eq(g->ctype, "text/javascript; charset=utf-8");
	cr_assert(g->etag_len > 6 && memcmp(g->etag + g->etag_len - 6, "-gzip\"", 6) == 0,
	    "%s", g->etag);
	cr_assert_eq(g->siblings, 0);
	file_cache_put(fc, g);
	/* by its own name: the plain file, its own type and ETag */
	cr_assert_eq(file_cache_get(fc, "a.js.gz", 7, 0, &g), 0);
	cr_assert_eq(g->enc, 0);
	cr_assert_eq(g->siblings, 0);
	cr_assert_str_eq(g->ctype, "application/gzip");
	cr_assert_eq(g->etag[g->etag_len - 2] == 'p', 0, "%s", g->etag);
	file_cache_put(fc, g);
}

Test(filecache_enc, oneoff_entry_finds_its_sibling)
{
	struct file_entry *a, *b, *g;

	cr_assert_eq(file_cache_get(fc, "a.js", 4, 0, &a), 0);
	/* the only slot is pinned: b.js is a one-off entry */
	cr_assert_eq(file_cache_get(fc, "b.js", 4, 0, &b), 0);
	cr_assert(b->oneoff);
	cr_assert_eq(b->siblings, ENC_BIT(ENC_GZIP));
	cr_assert_eq(file_cache_get_enc(fc, b->key, b->keylen, ENC_GZIP, 0, &g), 0);
	cr_assert_eq(g->st.st_size, 3, "the sibling of b.js, not of another name");
	file_cache_put(fc, g);
	file_cache_put(fc, b);
	file_cache_put(fc, a);
}

Test(filecache_enc, probe_off_and_revalidation)
{
	struct file_entry *e;

	file_cache_probe_siblings(fc, 0);
	cr_assert_eq(file_cache_get(fc, "b.js", 4, 0, &e), 0);
	cr_assert_eq(e->siblings, 0);
	file_cache_put(fc, e);
	file_cache_probe_siblings(fc, 1);
	/* a changed sibling set counts as a change of the entry */
	cr_assert_eq(file_cache_get(fc, "b.js", 4, 2 * FILE_CHECK_MS, &e), 0);
	cr_assert_eq(e->siblings, ENC_BIT(ENC_GZIP));
	file_cache_put(fc, e);
	cr_assert_eq(unlinkat(rootfd, "b.js.gz", 0), 0);
	cr_assert_eq(file_cache_get(fc, "b.js", 4, 4 * FILE_CHECK_MS, &e), 0);
	cr_assert_eq(e->siblings, 0);
	file_cache_put(fc, e);
	cr_assert_eq(file_cache_get_enc(fc, "b.js", 4, ENC_GZIP, 4 * FILE_CHECK_MS, &e), -1);
	cr_assert_eq(errno, ENOENT);
}
