/* The status FIFO writer: path checks, attaching, and whole snapshots through
 * a pipe smaller than one snapshot, without ever blocking. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "supervisor/status.h"

static char dir[64];

static void
mkdir_tmp(void)
{
	strcpy(dir, "/tmp/test_status.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	signal(SIGPIPE, SIG_IGN);
}

static void
path_in_tmp(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static struct snapshot *
big_snapshot(int nworkers)
{
	struct snapshot *sn = calloc(1, sizeof(*sn));

	cr_assert_not_null(sn);
	sn->pid = 4242;
	sn->generation = 1;
	sn->nlisten = 1;
	strcpy(sn->listen[0], "127.0.0.1:8080");
	sn->nworkers = nworkers;
	for (int i = 0; i < nworkers; i++) {
		sn->workers[i].slot = i;
		sn->workers[i].pid = 5000 + i;
		sn->workers[i].generation = 1;
		strcpy(sn->workers[i].state, "ready");
	}
	return sn;
}

Test(status, refuses_a_regular_file, .init = mkdir_tmp)
{
	char path[128], err[256];
	struct status s;
	FILE *f;

	path_in_tmp(path, sizeof(path), "plain");
	cr_assert_not_null(f = fopen(path, "w"));
	fclose(f);
	cr_assert_eq(status_open(&s, path, err, sizeof(err)), -1);
	cr_assert(strstr(err, "exists and is not a FIFO") != NULL, "%s", err);
	unlink(path);
	rmdir(dir);
}

Test(status, creates_0640_and_reuses_a_fifo, .init = mkdir_tmp)
{
	char path[128], err[256];
	struct status s;
	struct stat st;

	path_in_tmp(path, sizeof(path), "fifo");
	cr_assert_eq(status_check_path(path, false, err, sizeof(err)), 0,
	    "a missing path is fine for -t");
	cr_assert_eq(stat(path, &st), -1, "and -t creates nothing");
	cr_assert_eq(status_open(&s, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISFIFO(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0640);
	status_close(&s, false);
	cr_assert_eq(status_open(&s, path, err, sizeof(err)), 0, "reused: %s", err);
	status_close(&s, true);
	cr_assert_eq(stat(path, &st), -1, "unlinked on close");
	rmdir(dir);
}

Test(status, attach_needs_a_reader, .init = mkdir_tmp)
{
	char path[128], err[256];
	struct status s;
	int rfd;

	path_in_tmp(path, sizeof(path), "fifo");
	cr_assert_eq(status_open(&s, path, err, sizeof(err)), 0);
	cr_assert_eq(status_attach(&s), 0, "no reader: ENXIO means not yet");
	cr_assert_eq(s.fd, -1);
	rfd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(rfd, 0);
	cr_assert_eq(status_attach(&s), 1);
	cr_assert_geq(s.fd, 0);
	cr_assert_eq(status_watch_read(&s) & STATUS_SEEN_OPEN, STATUS_SEEN_OPEN,
	    "the reader's open was seen");
	close(rfd);
	cr_assert_eq(status_watch_read(&s) & STATUS_SEEN_CLOSE, STATUS_SEEN_CLOSE,
	    "and its leaving");
	status_close(&s, true);
	rmdir(dir);
}

/* A snapshot bigger than the pipe goes out in pieces; the reader gets it
 * whole and exactly once. */
Test(status, partial_writes_finish_whole, .init = mkdir_tmp)
{
	char path[128], err[256];
	struct snapshot *sn = big_snapshot(200);
	struct status s;
	char *got = malloc(STATUS_BUF_SIZE);
	size_t total = 0, expect;
	int rfd, r, rounds = 0;

	path_in_tmp(path, sizeof(path), "fifo");
	cr_assert_eq(status_open(&s, path, err, sizeof(err)), 0);
	rfd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert_eq(status_attach(&s), 1);
	cr_assert_eq(fcntl(s.fd, F_SETPIPE_SZ, 4096), 4096);
	cr_assert_eq(status_encode(&s, sn, STATUS_JSON), 0);
	expect = s.len;
	cr_assert_gt(expect, 4096, "bigger than the pipe");
	cr_assert_eq(s.buf[expect - 1], '\n');
	while ((r = status_flush(&s)) == 1 && rounds++ < 1000) {
		cr_assert(status_pending(&s));
		ssize_t n = read(rfd, got + total, STATUS_BUF_SIZE - total);
		cr_assert_gt(n, 0);
		total += (size_t)n;
	}
	cr_assert_eq(r, 0);
	cr_assert_not(status_pending(&s));
	for (ssize_t n; (n = read(rfd, got + total, STATUS_BUF_SIZE - total)) > 0;)
		total += (size_t)n;
	cr_assert_eq(total, expect);
	cr_assert_eq(memchr(got, '\n', total), got + total - 1, "one line");
	cr_assert_eq(got[0], '{');
	close(rfd);
	status_close(&s, true);
	free(got);
	free(sn);
	rmdir(dir);
}

Test(status, vanished_reader_is_reported_not_fatal, .init = mkdir_tmp)
{
	char path[128], err[256];
	struct snapshot *sn = big_snapshot(2);
	struct status s;
	int rfd;

	path_in_tmp(path, sizeof(path), "fifo");
	cr_assert_eq(status_open(&s, path, err, sizeof(err)), 0);
	rfd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert_eq(status_attach(&s), 1);
	close(rfd);
	cr_assert_eq(status_encode(&s, sn, STATUS_TEXT), 0);
	cr_assert_eq(status_flush(&s), -1, "EPIPE: the caller detaches");
	status_detach(&s);
	cr_assert_eq(s.fd, -1);
	cr_assert_not(status_pending(&s));
	status_close(&s, true);
	free(sn);
	rmdir(dir);
}
