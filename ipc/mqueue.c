/*
 * POSIX message queues for the stats and control queues. The supervisor
 * creates and receives; workers and preforkctl open and send. Nothing here
 * ever blocks: both ends are opened O_NONBLOCK.
 */
#include "ipc/mqueue.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "ipc/channel.h"

#define MQUEUE_MSG_MAX_PATH "/proc/sys/fs/mqueue/msg_max"
#define MQUEUE_MSG_MAX_DEFAULT 10
#define MQUEUE_DIR "/dev/mqueue"

/*
 * Receive buffer. mq_receive() refuses a buffer smaller than the queue's
 * mq_msgsize, which is MSG_MAX_SIZE for every queue mqueue_create() makes;
 * any packet up to that size, garbage included, is read whole and judged by
 * msg_decode().
 */
#define MQUEUE_RECV_SIZE 8192
_Static_assert(MQUEUE_RECV_SIZE >= MSG_MAX_SIZE, "receive buffer too small");

int
mqueue_name(char *buf, size_t len, pid_t pid, const char *suffix)
{
	int n = snprintf(buf, len, "/preforkd.%ld.%s", (long)pid, suffix);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

long
mqueue_msg_max(void)
{
	FILE *f;
	long v;

	if ((f = fopen(MQUEUE_MSG_MAX_PATH, "re")) == NULL)
		return MQUEUE_MSG_MAX_DEFAULT;
	if (fscanf(f, "%ld", &v) != 1 || v < 1)
		v = MQUEUE_MSG_MAX_DEFAULT;
	fclose(f);
	return v;
}

mqd_t
mqueue_create(const char *name, long maxmsg, mode_t mode)
{
	struct mq_attr attr = { 0 };
	long limit = mqueue_msg_max();

	/* Asking for more than msg_max fails with EINVAL without
	 * CAP_SYS_RESOURCE, so take what the system allows. */
	if (maxmsg > limit)
		maxmsg = limit;
	if (maxmsg < 1)
		maxmsg = 1;
	attr.mq_maxmsg = maxmsg;
	attr.mq_msgsize = (long)MSG_MAX_SIZE;
	return mq_open(name, O_CREAT | O_EXCL | O_RDONLY | O_NONBLOCK | O_CLOEXEC, mode, &attr);
}

mqd_t
mqueue_open_send(const char *name)
{
	return mq_open(name, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
}

int
mqueue_send(mqd_t q, struct msg *m, enum msg_type type)
{
	size_t len = msg_encode(m, type);
	int rc;

	do
		rc = mq_send(q, (const char *)m, len, 0);
	while (rc == -1 && errno == EINTR);
	return rc;
}

int
mqueue_recv(mqd_t q, struct msg *out, enum msg_result *why)
{
	union {
		struct msg m;
		char b[MQUEUE_RECV_SIZE];
	} buf;
	enum msg_result r;
	ssize_t n;

	do
		n = mq_receive(q, buf.b, sizeof(buf.b), NULL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN ? CHANNEL_AGAIN : CHANNEL_ERROR;
	r = msg_decode(buf.b, (size_t)n, out);
	if (why != NULL)
		*why = r;
	return r == MSG_OK ? CHANNEL_MSG : CHANNEL_BAD;
}

/* ---- names that another user cannot squat (issue 12) -------------------- */

/* Whether the queue called name (leading '/') exists, belongs to uid and
 * is closed to everyone else: 1 yes, 0 no or absent, -1 cannot tell
 * (/dev/mqueue not mounted). */
int
mqueue_owned(const char *name, uid_t uid)
{
	char path[128];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s%s", MQUEUE_DIR, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	if (lstat(path, &st) == -1)
		return errno == ENOENT && access(MQUEUE_DIR, F_OK) == 0 ? 0 : -1;
	return st.st_uid == uid && (st.st_mode & 077) == 0;
}

/* "/preforkd.<pid>.<8 hex digits>.<kind>": still starts with the pid, so
 * whatever finds a supervisor's queues by pid finds these too. */
static int
mqueue_alt_name(char *buf, size_t len, pid_t pid, const char *kind)
{
	int n = snprintf(buf, len, "/preforkd.%ld.%08x.%s", (long)pid,
	    (unsigned)arc4random(), kind);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

mqd_t
mqueue_create_ours(char *name, size_t len, pid_t pid, const char *kind,
    long maxmsg, mode_t mode)
{
	mqd_t q;

	if (mqueue_name(name, len, pid, kind) == -1) {
		errno = ENAMETOOLONG;
		return (mqd_t)-1;
	}
	q = mqueue_create(name, maxmsg, mode);
	/* Ours but left by a dead process that had our pid: take it back. */
	if (q == (mqd_t)-1 && errno == EEXIST && mqueue_owned(name, geteuid()) == 1 &&
	    mq_unlink(name) == 0)
		q = mqueue_create(name, maxmsg, mode);
	for (int i = 0; q == (mqd_t)-1 && errno == EEXIST && i < 8; i++) {
		if (mqueue_alt_name(name, len, pid, kind) == -1) {
			errno = ENAMETOOLONG;
			return (mqd_t)-1;
		}
		q = mqueue_create(name, maxmsg, mode);
	}
	return q;
}

/* One directory entry: "preforkd.<pid>.<hex>.<kind>" owned by uid. */
static bool
mqueue_entry_matches(const char *entry, const char *prefix, const char *kind,
    uid_t uid)
{
	size_t pl = strlen(prefix), kl = strlen(kind), el = strlen(entry);
	char name[128];

	if (el != pl + 9 + kl || strncmp(entry, prefix, pl) != 0 ||
	    entry[pl + 8] != '.' || strcmp(entry + pl + 9, kind) != 0)
		return false;
	for (size_t i = pl; i < pl + 8; i++)
		if (!isxdigit((unsigned char)entry[i]))
			return false;
	if (snprintf(name, sizeof(name), "/%s", entry) >= (int)sizeof(name))
		return false;
	return mqueue_owned(name, uid) == 1;
}

int
mqueue_find(char *buf, size_t len, pid_t pid, const char *kind)
{
	char proc[32], prefix[48];
	struct dirent *e;
	struct stat st;
	int found = -1;
	DIR *d;

	if (mqueue_name(buf, len, pid, kind) == -1)
		return -1;
	snprintf(proc, sizeof(proc), "/proc/%ld", (long)pid);
	if (stat(proc, &st) == -1 || mqueue_owned(buf, st.st_uid) != 0)
		return 0;       /* the usual name is theirs, or we cannot tell */
	if ((d = opendir(MQUEUE_DIR)) == NULL)
		return 0;
	snprintf(prefix, sizeof(prefix), "preforkd.%ld.", (long)pid);
	while (found == -1 && (e = readdir(d)) != NULL)
		if (mqueue_entry_matches(e->d_name, prefix, kind, st.st_uid) &&
		    snprintf(buf, len, "/%s", e->d_name) < (int)len)
			found = 0;
	closedir(d);
	if (found == -1)
		(void)mqueue_name(buf, len, pid, kind);
	return 0;
}
