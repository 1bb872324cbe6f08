/* Temporary directory trees for the unit tests that need real files. */
#ifndef PREFORKD_TEST_TMPDIR_H
#define PREFORKD_TEST_TMPDIR_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static inline int
tmpdir_rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(p);
}

/* Removes the tree at base, if one was made (base[0] != '\0'). */
static inline void
tmpdir_remove(const char *base)
{
	if (base[0] != '\0')
		nftw(base, tmpdir_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes body to name under dfd and sets its mtime, so Last-Modified and
 * ETags in assertions are fixed. */
static inline void
tmpdir_put(int dfd, const char *name, const char *body, time_t mtime)
{
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0, "%s", name);
	cr_assert_eq(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	cr_assert_eq(utimensat(dfd, name, ts, 0), 0);
}

#endif
