/*
 * What a new supervisor reads from the environment an upgrading parent left
 * (supervisor/upgrade.c): accepted only whole, cleared once read, and every
 * inherited descriptor made close-on-exec again. And what travels over the
 * socketpair: the session-ticket key ring, taken whole or not at all, and
 * the final counters behind it.
 */
#include "supervisor/upgrade.h"
#include "supervisor/tls_keys.h"

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

/* ---- the session-ticket key ring over the socketpair -------------------- */

/* An old supervisor's ring after three rotations, the next one due in 25 s
 * of its clock (1000). */
static void
old_ring(struct tls_state *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < 3; i++)
		cr_assert_eq(tls_keys_rotate(st), 0);
	st->rotations = 2;
	st->rotate_ms = 1000 + 25000;
}

/* The channel as the new supervisor inherits it: u.parent_fd, with *old
 * the old supervisor's end. */
static void
channel(struct upgrade *u, int *old)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	memset(u, 0, sizeof(*u));
	u->fd = -1;
	u->parent_fd = sv[1];
	*old = sv[0];
}

/* An old supervisor's key ring, the upgrade channel between the two sides
 * and an empty state for the new one. */
static void
handover(struct tls_state *old, struct upgrade *u, int *fd, struct tls_state *new)
{
	old_ring(old);
	channel(u, fd);
	memset(new, 0, sizeof(*new));
}

Test(upgrade_keys, ring_schedule_and_count_are_taken_over)
{
	struct tls_state old, new;
	struct upgrade u;
	int fd;

	handover(&old, &u, &fd, &new);
	upgrade_send_keys(fd, &old, 1000);
	/* Another clock on the new side (5000): the rotation is still 25 s
	 * away, not a full interval. */
	cr_assert_eq(upgrade_take_keys(&u, &new, 5000), 1);
	cr_expect_eq(new.keys.nkeys, 3u);
	cr_expect_eq(memcmp(&new.keys, &old.keys, sizeof(old.keys)), 0);
	cr_expect_eq(new.rotate_ms, 5000 + 25000);
	cr_expect_eq(new.rotations, 2u);
	/* Both rotate to the same key: a ticket the old workers seal under it
	 * before they retire still opens on the new ones. */
	cr_assert_eq(tls_keys_rotate(&old), 0);
	cr_assert_eq(tls_keys_rotate(&new), 0);
	cr_expect_eq(memcmp(&new.keys, &old.keys, sizeof(old.keys)), 0);
	/* Taken once: the channel is empty again. */
	cr_expect_eq(upgrade_take_keys(&u, &new, 5000), 0);
	tls_state_free(&old);
	tls_state_free(&new);
}

Test(upgrade_keys, a_rotation_overdue_happens_at_once_not_an_interval_later)
{
	struct tls_state old, new;
	struct upgrade u;
	int fd;

	handover(&old, &u, &fd, &new);
	upgrade_send_keys(fd, &old, 90000);       /* past rotate_ms */
	cr_assert_eq(upgrade_take_keys(&u, &new, 100), 1);
	cr_expect_eq(new.rotate_ms, 100);
	tls_state_free(&old);
	tls_state_free(&new);
}

Test(upgrade_keys, none_from_an_older_binary_or_a_ringless_one)
{
	struct tls_state none, new;
	struct upgrade u;
	int fd;

	memset(&new, 0, sizeof(new));
	channel(&u, &fd);
	cr_expect_eq(upgrade_take_keys(&u, &new, 0), 0, "nothing queued");
	memset(&none, 0, sizeof(none));
	upgrade_send_keys(fd, &none, 0);
	cr_expect_eq(upgrade_take_keys(&u, &new, 0), 0, "a ring with no keys");
	upgrade_send_keys(fd, NULL, 0);
	cr_expect_eq(upgrade_take_keys(&u, &new, 0), 0, "no TLS state");
	cr_expect_eq(new.keys.nkeys, 0u);
	u.parent_fd = -1;
	cr_expect_eq(upgrade_take_keys(&u, &new, 0), 0, "not an upgrade");
}

Test(upgrade_keys, a_malformed_record_leaves_no_keys)
{
	struct tls_state new;
	struct upgrade u;
	char junk[64];
	int fd;

	memset(&new, 0, sizeof(new));
	memset(junk, 0x5a, sizeof(junk));
	channel(&u, &fd);
	cr_assert_eq(send(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	cr_expect_eq(upgrade_take_keys(&u, &new, 0), -1);
	cr_expect_eq(new.keys.nkeys, 0u);
	cr_expect_eq(new.rotate_ms, 0);
}

/* Each case breaks one field of a good handover. */
Test(upgrade_keys, import_refuses_what_is_out_of_range)
{
	struct tls_state old, new;
	struct tls_keys_handover h;

	old_ring(&old);
	memset(&new, 0, sizeof(new));
	for (int i = 0; i < 5; i++) {
		tls_keys_export(&old, 1000, &h);
		switch (i) {
		case 0: h.keys.nkeys = MSG_TLS_NKEYS + 1; break;
		case 1: h.has_next = 2; break;
		case 2: h.rotate_in_ms = -1; break;
		case 3: h.rotate_in_ms = (int64_t)INT_MAX + 1; break;
		case 4: h.reserved = 1; break;
		}
		cr_expect_eq(tls_keys_import(&new, &h, 0), -1, "case %d", i);
		cr_expect_eq(new.keys.nkeys, 0u, "case %d", i);
	}
	tls_keys_export(&old, 1000, &h);
	cr_expect_eq(tls_keys_import(&new, &h, 0), 1);
	explicit_bzero(&h, sizeof(h));
	tls_state_free(&old);
	tls_state_free(&new);
}

/* The counters still come through behind the keys; and a binary from
 * before the keys record (which never takes it) still gets its TOTALS. */
Test(upgrade_keys, totals_follow_the_keys_record)
{
	struct upgrade_totals t = { .reloads = 4, .generation = 9 }, got;
	struct tls_state old, new;
	struct upgrade u, o;
	int fd;

	for (int taken = 0; taken < 2; taken++) {
		old_ring(&old);
		memset(&new, 0, sizeof(new));
		channel(&u, &fd);
		memset(&o, 0, sizeof(o));
		o.fd = fd;
		upgrade_send_keys(fd, &old, 1000);
		if (taken)
			cr_expect_eq(upgrade_take_keys(&u, &new, 0), 1);
		upgrade_hand_over(&o, &t, "");
		memset(&got, 0, sizeof(got));
		cr_expect_eq(upgrade_take_totals(&u, &got), 1, "keys taken: %d", taken);
		cr_expect_eq(got.reloads, 4u);
		cr_expect_eq(got.generation, 9u);
		cr_expect(u.handed_over);
		tls_state_free(&old);
		tls_state_free(&new);
	}
}

/* A new binary that fails leaves the keys record unread: its end closes
 * with data queued, and Linux reports ECONNRESET on ours once, ahead of
 * the error record it sent before exiting. The error must still be read,
 * so "upgrade failed" says why instead of only the exit status. */
Test(upgrade_keys, the_error_of_a_binary_that_never_read_its_keys_is_read)
{
	struct upgrade o;
	char num[16];
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	memset(&o, 0, sizeof(o));
	o.fd = sv[0];
	upgrade_send_keys(sv[0], NULL, 0);
	snprintf(num, sizeof(num), "%d", sv[1]);
	cr_assert_eq(setenv("PREFORKD_UPGRADE_FD", num, 1), 0);
	upgrade_report_error("exec /x: Permission denied");
	unsetenv("PREFORKD_UPGRADE_FD");
	close(sv[1]);
	cr_expect_eq(upgrade_read(&o), 0);
	cr_expect_str_eq(o.why, "exec /x: Permission denied");
	cr_expect_eq(o.fd, -1, "closed at the EOF after the record");
}
