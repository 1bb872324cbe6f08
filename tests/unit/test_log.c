/*
 * ipc/base/log.c: reopening and adopting a log file swap the file behind
 * the same descriptor number (anything that kept the number, such as a
 * daemon's stderr, follows), and the descriptor handed over is closed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/base/log.h"
#include "tmpdir.h"

static char dir[64];

static void
log_setup(void)
{
	strcpy(dir, "/tmp/preforkd-log-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
log_teardown(void)
{
	log_open(NULL);
	tmpdir_remove(dir);
}

/* Whether the file at name under dir holds needle. */
static int
file_has(const char *name, const char *needle)
{
	char path[128], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, needle) != NULL;
}

static int
open_in_dir(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

TestSuite(log, .init = log_setup, .fini = log_teardown);

Test(log, reopen_follows_a_rotated_file_on_the_same_descriptor)
{
	char path[128], moved[128];
	int fd;

	snprintf(path, sizeof(path), "%s/error.log", dir);
	snprintf(moved, sizeof(moved), "%s/error.log.1", dir);
	cr_assert_eq(log_open(path), 0);
	fd = log_fd();
	log_warnx("before rotation");
	cr_assert_eq(rename(path, moved), 0);
	cr_assert_eq(log_reopen(), 0);
	cr_expect_eq(log_fd(), fd, "the descriptor number is kept");
	log_warnx("after rotation");
	cr_expect(file_has("error.log.1", "before rotation"));
	cr_expect(!file_has("error.log.1", "after rotation"));
	cr_expect(file_has("error.log", "after rotation"));
}

Test(log, adopt_replaces_the_file_and_closes_the_given_descriptor)
{
	char path[128];
	int fd, given;

	snprintf(path, sizeof(path), "%s/old.log", dir);
	cr_assert_eq(log_open(path), 0);
	fd = log_fd();
	given = open_in_dir("new.log");
	cr_assert_geq(given, 0);
	cr_assert_eq(log_adopt(given), 0);
	cr_expect_eq(log_fd(), fd, "the descriptor number is kept");
	cr_expect_eq(fcntl(given, F_GETFD), -1, "the adopted descriptor is closed");
	log_warnx("adopted");
	cr_expect(file_has("new.log", "adopted"));
	cr_expect(!file_has("old.log", "adopted"));
}

Test(log, adopt_of_a_bad_descriptor_fails_and_keeps_the_file)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/kept.log", dir);
	cr_assert_eq(log_open(path), 0);
	cr_expect_eq(log_adopt(-1), -1);
	log_warnx("still here");
	cr_expect(file_has("kept.log", "still here"));
}

Test(log, adopt_while_on_stderr_takes_the_descriptor_itself)
{
	int given = open_in_dir("first.log");

	cr_assert_geq(given, 0);
	cr_assert_eq(log_adopt(given), 0);
	cr_expect_eq(log_fd(), given);
	log_warnx("first");
	cr_expect(file_has("first.log", "first"));
}
