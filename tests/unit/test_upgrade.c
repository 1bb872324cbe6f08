/*
 * What a new supervisor reads from the environment an upgrading parent left
 * (supervisor/upgrade.c): accepted only whole, cleared once read, and every
 * inherited descriptor made close-on-exec again.
 */
#include "supervisor/upgrade.h"

#include <criterion/criterion.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
set_int(const char *name, int v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", v);
	cr_assert_eq(setenv(name, buf, 1), 0);
}

static int
sock(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);   /* no CLOEXEC, as inherited */

	cr_assert_geq(fd, 3);
	return fd;
}

Test(upgrade, nothing_inherited_without_the_environment)
{
	struct upgrade u;

	unsetenv("PREFORKD_UPGRADE_FD");
	cr_assert_eq(upgrade_init(&u, "/usr/sbin/preforkd"), 0);
	cr_expect(!u.inherited);
	cr_expect_eq(u.parent_fd, -1);
	cr_expect_eq(u.fd, -1);
	cr_expect_str_eq(u.exe, "/usr/sbin/preforkd");
}

Test(upgrade, relative_path_is_made_absolute_at_start)
{
	char cwd[PATH_MAX], want[PATH_MAX + 16];
	struct upgrade u;

	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/build/preforkd", cwd);
	cr_assert_eq(upgrade_init(&u, "build/preforkd"), 0);
	cr_expect_str_eq(u.exe, want);
}

Test(upgrade, whole_inheritance_is_taken_and_cleared)
{
	int chan = sock(), a = sock(), b = sock();
	char list[64];
	struct upgrade u;

	snprintf(list, sizeof(list), "%d,%d", a, b);
	set_int("PREFORKD_UPGRADE_FD", chan);
	set_int("PREFORKD_UPGRADE_GEN", 7);
	cr_assert_eq(setenv("PREFORKD_LISTEN_FDS", list, 1), 0);
	cr_assert_eq(upgrade_init(&u, "/x/preforkd"), 0);
	cr_expect(u.inherited);
	cr_expect(!u.activated);
	cr_expect_eq(u.parent_fd, chan);
	cr_expect_eq(u.generation, 7u);
	cr_assert_eq(u.nlisten, 2);
	cr_expect_eq(u.listen_fds[0], a);
	cr_expect_eq(u.listen_fds[1], b);
	cr_expect_null(getenv("PREFORKD_UPGRADE_FD"));
	cr_expect_null(getenv("PREFORKD_UPGRADE_GEN"));
	cr_expect_null(getenv("PREFORKD_LISTEN_FDS"));
	cr_expect_eq(fcntl(chan, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	cr_expect_eq(fcntl(a, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	cr_expect_eq(fcntl(b, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

Test(upgrade, activated_flag_travels)
{
	struct upgrade u;

	set_int("PREFORKD_UPGRADE_FD", sock());
	set_int("PREFORKD_UPGRADE_GEN", 1);
	set_int("PREFORKD_LISTEN_FDS", sock());
	cr_assert_eq(setenv("PREFORKD_ACTIVATED", "1", 1), 0);
	cr_assert_eq(upgrade_init(&u, "/x/preforkd"), 0);
	cr_expect(u.activated);
	cr_expect_null(getenv("PREFORKD_ACTIVATED"));
}

/* Each case breaks one thing about an otherwise good inheritance. */
Test(upgrade, partial_or_bad_inheritance_is_refused)
{
	static const char *bad_lists[] = { "x", "3;4", "2", "-5", "999999", "%d,x" };
	int chan = sock(), ok = sock();
	char list[64];
	struct upgrade u;

	for (size_t i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
		snprintf(list, sizeof(list), bad_lists[i], ok);
		set_int("PREFORKD_UPGRADE_FD", chan);
		set_int("PREFORKD_UPGRADE_GEN", 1);
		cr_assert_eq(setenv("PREFORKD_LISTEN_FDS", list, 1), 0);
		cr_expect_eq(upgrade_init(&u, "/x/preforkd"), -1, "list %s", list);
	}
	unsetenv("PREFORKD_LISTEN_FDS");
	set_int("PREFORKD_UPGRADE_FD", chan);
	unsetenv("PREFORKD_UPGRADE_GEN");
	cr_expect_eq(upgrade_init(&u, "/x/preforkd"), -1, "no generation");
	set_int("PREFORKD_UPGRADE_GEN", 0);
	cr_expect_eq(upgrade_init(&u, "/x/preforkd"), -1, "generation 0");
	set_int("PREFORKD_UPGRADE_GEN", 1);
	set_int("PREFORKD_UPGRADE_FD", 999999);
	cr_expect_eq(upgrade_init(&u, "/x/preforkd"), -1, "closed channel");
	cr_assert_eq(setenv("PREFORKD_UPGRADE_FD", "3x", 1), 0);
	cr_expect_eq(upgrade_init(&u, "/x/preforkd"), -1, "not a number");
}
