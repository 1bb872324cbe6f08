/*
 * Binary upgrade mechanics (docs/ARCHITECTURE.md: The life of an upgrade). The two supervisors talk over a
 * SOCK_SEQPACKET socketpair: one record per message, so no framing, and a
 * peer that dies is an EOF. The child end and the listening sockets are the
 * only descriptors that survive the exec; their numbers travel in the
 * environment:
 *
 *   PREFORKD_UPGRADE_FD=<fd>      the channel to the old supervisor
 *   PREFORKD_UPGRADE_GEN=<n>      the old one's generation (ours is n + 1)
 *   PREFORKD_LISTEN_FDS=<fd>,...  the listening sockets
 *   PREFORKD_ACTIVATED=1          they came from systemd socket activation
 *
 * Messages: old -> new KEYS, queued before the fork so the new one finds
 * them before it forks its first worker (the session-ticket key ring; only
 * this socketpair ever carries it); new -> old READY (or ERROR text when
 * exec failed); old -> new TOTALS once every old worker is gone, so their
 * final reports are in.
 */
#include "supervisor/upgrade.h"
#include "ipc/base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bsd/string.h>

#include "ipc/base/log.h"
#include "ipc/mqueue.h"
#include "supervisor/notify.h"
#include "supervisor/signals.h"
#include "supervisor/tls_keys.h"

#define UP_MAGIC 0x50465550u     /* "PUFP" */

enum up_type { UP_READY = 1, UP_ERROR, UP_TOTALS, UP_KEYS };

/* What every record starts with. */
struct up_head {
	uint32_t magic;
	uint32_t type;
	int32_t pid;
	uint32_t reserved;
};

struct up_msg {
	struct up_head hd;
	struct upgrade_totals t;
	char text[200];
};

/* Its own record: up_msg keeps its size, so a binary from before KEYS
 * still reads our TOTALS (and drops this record as malformed). */
struct up_keys {
	struct up_head hd;
	struct tls_keys_handover h;
};
_Static_assert(sizeof(struct up_keys) != sizeof(struct up_msg),
    "the records are told apart by size");
/* The layout binaries of both ages read: four 32-bit words, then the body. */
_Static_assert(sizeof(struct up_head) == 16 && offsetof(struct up_msg, t) == 16 &&
    offsetof(struct up_keys, h) == 16, "the record head is the four words it always was");

/* Zeroes a record (size bytes, starting with its up_head) and writes the
 * head: magic, type and the sender's pid. */
static void
up_head_init(void *rec, size_t size, enum up_type type)
{
	struct up_head *hd = rec;

	memset(rec, 0, size);
	hd->magic = UP_MAGIC;
	hd->type = type;
	hd->pid = (int32_t)getpid();
}

static int
up_send(int fd, enum up_type type, const struct upgrade_totals *t, const char *text)
{
	struct up_msg m;

	up_head_init(&m, sizeof(m), type);
	if (t != NULL)
		m.t = *t;
	if (text != NULL)
		strlcpy(m.text, text, sizeof(m.text));
	return send(fd, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -1;
}

/* 1 message, 0 nothing yet, -1 EOF or error; malformed records are dropped. */
static int
up_recv(int fd, struct up_msg *m)
{
	ssize_t n;

	for (;;) {
		n = recv(fd, m, sizeof(*m), MSG_DONTWAIT);
		/* ECONNRESET: the new binary exited without reading the keys
		 * record we queued for it. Linux reports that once, before the
		 * records it sent are read: its last words (an exec error) are
		 * still queued, and the read after this one returns them. */
		if (n == -1 && (errno == EINTR || errno == ECONNRESET))
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		if ((size_t)n == sizeof(*m) && m->hd.magic == UP_MAGIC) {
			m->text[sizeof(m->text) - 1] = '\0';
			return 1;
		}
		log_warnx("upgrade channel: dropped malformed message (%zd bytes)", n);
	}
}

/* ---- where we came from --------------------------------------------------- */

static void
up_exe_path(struct upgrade *u, const char *argv0)
{
	char cwd[PATH_MAX];
	ssize_t n;

	if (argv0 != NULL && argv0[0] == '/') {
		strlcpy(u->exe, argv0, sizeof(u->exe));
		return;
	}
	if (argv0 != NULL && strchr(argv0, '/') != NULL && getcwd(cwd, sizeof(cwd)) != NULL &&
	    (size_t)snprintf(u->exe, sizeof(u->exe), "%s/%s", cwd, argv0) < sizeof(u->exe))
		return;
	/* Found through PATH: the file the kernel ran is the best we know. */
	n = readlink("/proc/self/exe", u->exe, sizeof(u->exe) - 1);
	u->exe[n > 0 ? n : 0] = '\0';
}

static int
up_env_int(const char *name, long min, long max, long *out)
{
	const char *v = getenv(name);
	char *end;

	if (v == NULL)
		return 0;
	errno = 0;
	*out = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || *out < min || *out > max) {
		log_warnx("%s=%s: not a number from %ld to %ld", name, v, min, max);
		return -1;
	}
	return 1;
}

static int
up_env_fds(struct upgrade *u)
{
	const char *v = getenv("PREFORKD_LISTEN_FDS");
	char *end;

	for (u->nlisten = 0; v != NULL && *v != '\0'; v = end + (*end == ',')) {
		long fd = strtol(v, &end, 10);

		if (end == v || fd < 3 || fd > INT_MAX || u->nlisten == UPGRADE_MAX_LISTEN ||
		    fcntl((int)fd, F_SETFD, FD_CLOEXEC) == -1) {
			log_warnx("PREFORKD_LISTEN_FDS: bad or closed descriptor list");
			return -1;
		}
		u->listen_fds[u->nlisten++] = (int)fd;
	}
	return 0;
}

int
upgrade_init(struct upgrade *u, const char *argv0)
{
	long fd = -1, gen = 0;
	int r;

	memset(u, 0, sizeof(*u));
	u->fd = u->parent_fd = -1;
	up_exe_path(u, argv0);
	if ((r = up_env_int("PREFORKD_UPGRADE_FD", 3, INT_MAX, &fd)) == 0)
		return 0;
	if (r == -1 || up_env_int("PREFORKD_UPGRADE_GEN", 1, UINT32_MAX - 1, &gen) != 1 ||
	    fcntl((int)fd, F_SETFD, FD_CLOEXEC) == -1 || up_env_fds(u) == -1) {
		log_warnx("upgrade: the inherited state is unusable");
		return -1;
	}
	u->inherited = true;
	u->parent_fd = (int)fd;
	u->parent = getppid();
	u->generation = (uint32_t)gen;
	u->activated = getenv("PREFORKD_ACTIVATED") != NULL;
	unsetenv("PREFORKD_UPGRADE_FD");
	unsetenv("PREFORKD_UPGRADE_GEN");
	unsetenv("PREFORKD_LISTEN_FDS");
	unsetenv("PREFORKD_ACTIVATED");
	return 0;
}

/* ---- old side: starting --------------------------------------------------- */

static void up_tell_requester(struct upgrade *u, bool ok);

static void
up_oldbin(const char *pidfile, char *buf, size_t len)
{
	snprintf(buf, len, "%s.oldbin", pidfile);
}

static int
up_setenv_int(const char *name, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	return setenv(name, buf, 1);
}

/* In the child: make exactly the sockets and the channel survive exec. */
static void
up_child_exec(const struct upgrade *u, const struct upgrade_start *a, int fd)
{
	char list[UPGRADE_MAX_LISTEN * 12] = "", num[16], err[200];

	signals_reset(a->sigmask);
	/* Not every descriptor of ours is close-on-exec (libbsd's pidfile is
	 * not): mark them all, then clear it on exactly what is passed on. */
	(void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	for (int i = 0; i < a->nlisten && i < UPGRADE_MAX_LISTEN; i++) {
		(void)fcntl(a->listen_fds[i], F_SETFD, 0);
		snprintf(num, sizeof(num), "%s%d", i > 0 ? "," : "", a->listen_fds[i]);
		strlcat(list, num, sizeof(list));
	}
	(void)fcntl(fd, F_SETFD, 0);
	if (up_setenv_int("PREFORKD_UPGRADE_FD", fd) == -1 ||
	    up_setenv_int("PREFORKD_UPGRADE_GEN", (long)a->generation) == -1 ||
	    setenv("PREFORKD_LISTEN_FDS", list, 1) == -1 ||
	    (a->activated && setenv("PREFORKD_ACTIVATED", "1", 1) == -1))
		snprintf(err, sizeof(err), "setenv: %s", strerror(errno));
	else {
		execv(u->exe, a->argv);
		if (snprintf(err, sizeof(err), "exec %s: %s", u->exe,
		    strerror(errno)) >= (int)sizeof(err))
			strlcpy(err + sizeof(err) - 4, "...", 4);
	}
	(void)up_send(fd, UP_ERROR, NULL, err);
	_exit(127);
}

/* Queued for the new supervisor before it exists: nothing to wait for on
 * its side, and an exec that fails discards the record with the pair. */
void
upgrade_send_keys(int fd, const struct tls_state *st, int64_t now_ms)
{
	struct up_keys m;

	up_head_init(&m, sizeof(m), UP_KEYS);
	if (st != NULL)
		tls_keys_export(st, now_ms, &m.h);
	if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		log_warn("upgrade: handing the session-ticket keys over");
	explicit_bzero(&m, sizeof(m));
}

int
upgrade_begin(struct upgrade *u, const struct upgrade_start *a)
{
	char oldbin[PATH_MAX + 8];
	int sv[2];

	if (u->child > 0) {
		log_warnx("upgrade already in progress (new supervisor pid %d); ignoring "
		    "this request", (int)u->child);
		upgrade_refuse(a->requester);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("upgrade failed: socketpair; keeping the running binary");
		upgrade_refuse(a->requester);
		u->upgrades_failed++;
		return -1;
	}
	u->requester = a->requester;
	upgrade_send_keys(sv[0], a->tls, a->now_ms);
	up_oldbin(a->pidfile, oldbin, sizeof(oldbin));
	if (a->pidfile[0] != '\0' && rename(a->pidfile, oldbin) == -1)
		log_warn("upgrade: rename %s to %s", a->pidfile, oldbin);
	log_info("upgrade: starting %s", u->exe);
	u->child = fork();
	if (u->child == 0) {
		close(sv[0]);
		up_child_exec(u, a, sv[1]);
	}
	close(sv[1]);
	if (u->child == -1) {
		log_warn("upgrade failed: fork; keeping the running binary");
		u->child = 0;
		u->upgrades_failed++;
		up_tell_requester(u, false);
		close(sv[0]);
		if (a->pidfile[0] != '\0')
			(void)rename(oldbin, a->pidfile);
		return -1;
	}
	u->fd = sv[0];
	u->ready = false;
	u->why[0] = '\0';
	u->deadline_ms = a->now_ms + a->timeout_ms;
	return u->fd;
}

bool
upgrade_pending(const struct upgrade *u)
{
	return u->child > 0 && !u->ready;
}

/* ---- old side: outcome ---------------------------------------------------- */

void
upgrade_refuse(pid_t requester)
{
	/* preforkctl upgrade waits for one of these (see ctl_upgrade.h). */
	if (requester > 1 && requester != getpid())
		(void)kill(requester, SIGUSR2);
}

static void
up_tell_requester(struct upgrade *u, bool ok)
{
	if (u->requester > 1 && u->requester != getpid())
		(void)kill(u->requester, ok ? SIGUSR1 : SIGUSR2);
	u->requester = 0;
}

static void
up_close(struct upgrade *u)
{
	if (u->fd != -1)
		close(u->fd);
	u->fd = -1;
}

static void
up_remember_dead(struct upgrade *u, pid_t pid)
{
	for (size_t i = 0; i < nitems(u->dead); i++)
		if (u->dead[i] == 0) {
			u->dead[i] = pid;
			return;
		}
}

/* Kills the new supervisor (if alive), puts our pidfile back, says why. */
static void
up_fail(struct upgrade *u, const char *why, const char *pidfile, bool alive)
{
	char oldbin[PATH_MAX + 8];

	if (alive) {
		(void)kill(u->child, SIGKILL);
		up_remember_dead(u, u->child);
	} else
		upgrade_unlink_queues(u->child);
	up_close(u);
	if (pidfile[0] != '\0') {
		up_oldbin(pidfile, oldbin, sizeof(oldbin));
		if (rename(oldbin, pidfile) == -1)
			log_warn("upgrade: restoring %s", pidfile);
	}
	log_warnx("upgrade failed: %s; keeping the running binary", why);
	u->child = 0;
	u->upgrades_failed++;
	up_tell_requester(u, false);
	notify_systemd("READY=1");
}

int
upgrade_read(struct upgrade *u)
{
	struct up_msg m;
	int r;

	while (u->fd != -1 && (r = up_recv(u->fd, &m)) != 0) {
		if (r == -1) {
			up_close(u);     /* the exit status will say why */
			return 0;
		}
		if (m.hd.type == UP_ERROR)
			strlcpy(u->why, m.text, sizeof(u->why));
		else if (m.hd.type == UP_READY && !u->ready && m.hd.pid == u->child) {
			u->ready = true;
			u->upgrades++;
			log_info("upgrade: new supervisor (pid %d) is ready; retiring the "
			    "old workers", (int)u->child);
			up_tell_requester(u, true);
			return 1;
		}
	}
	return 0;
}

static void
up_describe_exit(const struct upgrade *u, int status, char *buf, size_t len)
{
	const char *when = u->ready ? "after taking over" : "before it was ready";

	if (u->why[0] != '\0')
		snprintf(buf, len, "%s", u->why);
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "new binary (pid %d) killed by signal %d %s",
		    (int)u->child, WTERMSIG(status), when);
	else
		snprintf(buf, len, "new binary (pid %d) exited with status %d %s",
		    (int)u->child, WEXITSTATUS(status), when);
}

/* A new binary that could not exec says why on the pair just before it
 * exits; its exit may be reaped first in the same loop turn. */
static void
up_take_last_words(struct upgrade *u)
{
	struct up_msg m;

	while (u->fd != -1 && u->why[0] == '\0' && up_recv(u->fd, &m) == 1)
		if (m.hd.type == UP_ERROR)
			strlcpy(u->why, m.text, sizeof(u->why));
}

int
upgrade_reaped(struct upgrade *u, pid_t pid, int status, const char *pidfile)
{
	char why[300], mainpid[32];
	bool was_ready = u->ready;

	for (size_t i = 0; i < nitems(u->dead); i++)
		if (u->dead[i] == pid && pid > 0) {
			u->dead[i] = 0;
			upgrade_unlink_queues(pid);
			return UPGRADE_REAPED;
		}
	if (pid != u->child || pid <= 0)
		return UPGRADE_NOT_OURS;
	if (!was_ready)
		up_take_last_words(u);
	up_describe_exit(u, status, why, sizeof(why));
	if (was_ready) {
		/* It died while our workers were still retiring: nobody would
		 * serve once they are gone, so we take the service back. */
		u->ready = false;
		u->upgrades--;
		snprintf(mainpid, sizeof(mainpid), "MAINPID=%d", (int)getpid());
		notify_systemd(mainpid);
	}
	up_fail(u, why, pidfile, false);
	return was_ready ? UPGRADE_RESUME : UPGRADE_REAPED;
}

void
upgrade_check_deadline(struct upgrade *u, int64_t now_ms, const char *pidfile)
{
	char why[96];

	if (!upgrade_pending(u) || now_ms < u->deadline_ms)
		return;
	snprintf(why, sizeof(why), "new binary (pid %d) not ready within upgrade_timeout",
	    (int)u->child);
	up_fail(u, why, pidfile, true);
}

void
upgrade_cancel(struct upgrade *u, const char *pidfile)
{
	char oldbin[PATH_MAX + 8];

	if (!upgrade_pending(u))
		return;
	log_info("upgrade: stopping; so is the new supervisor (pid %d)", (int)u->child);
	(void)kill(u->child, SIGTERM);
	up_remember_dead(u, u->child);
	u->child = 0;
	up_close(u);
	if (pidfile[0] != '\0') {
		up_oldbin(pidfile, oldbin, sizeof(oldbin));
		(void)rename(oldbin, pidfile);
	}
	up_tell_requester(u, false);
}

void
upgrade_hand_over(struct upgrade *u, const struct upgrade_totals *t, const char *pidfile)
{
	char oldbin[PATH_MAX + 8];

	if (u->fd != -1 && up_send(u->fd, UP_TOTALS, t, NULL) == -1)
		log_warn("upgrade: handing the counters over");
	up_close(u);
	if (pidfile[0] != '\0') {
		up_oldbin(pidfile, oldbin, sizeof(oldbin));
		(void)unlink(oldbin);
	}
}

void
upgrade_unlink_queues(pid_t pid)
{
	char name[64];

	if (mqueue_name(name, sizeof(name), pid, "stats") == 0)
		(void)mq_unlink(name);
	if (mqueue_name(name, sizeof(name), pid, "ctl") == 0)
		(void)mq_unlink(name);
}

/* ---- new side ------------------------------------------------------------- */

void
upgrade_report_error(const char *text)
{
	struct stat st;
	long fd;

	/* Before upgrade_init: the environment is all there is. A stray
	 * variable naming something that is not a socket is left alone. */
	if (up_env_int("PREFORKD_UPGRADE_FD", 3, INT_MAX, &fd) != 1 ||
	    fstat((int)fd, &st) == -1 || !S_ISSOCK(st.st_mode))
		return;
	(void)up_send((int)fd, UP_ERROR, NULL, text);
}

/* One record, queued before we were forked, or none (an older binary). */
static int
up_recv_keys(int fd, struct up_keys *m)
{
	ssize_t n;

	do
		n = recv(fd, m, sizeof(*m), MSG_DONTWAIT | MSG_TRUNC);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return 0;
	if ((size_t)n != sizeof(*m) || m->hd.magic != UP_MAGIC || m->hd.type != UP_KEYS) {
		log_warnx("upgrade: malformed session-ticket key handover (%zd bytes)", n);
		return -1;
	}
	return 1;
}

int
upgrade_take_keys(struct upgrade *u, struct tls_state *st, int64_t now_ms)
{
	struct up_keys m;
	int r;

	if (u->parent_fd == -1)
		return 0;
	if ((r = up_recv_keys(u->parent_fd, &m)) == 1 &&
	    (r = tls_keys_import(st, &m.h, now_ms)) == -1)
		log_warnx("upgrade: malformed session-ticket keys handed over");
	if (r == 1)
		log_info("upgrade: took over the session-ticket keys (%u; next rotation "
		    "in %" PRId64 " s)", st->keys.nkeys, (m.h.rotate_in_ms + 999) / 1000);
	else if (st->ctx != NULL)
		log_info("upgrade: no usable session-ticket keys from the old supervisor; "
		    "drawing new ones (its tickets will need a full handshake)");
	explicit_bzero(&m, sizeof(m));
	return r;
}

void
upgrade_announce_ready(struct upgrade *u)
{
	char buf[64];

	if (u->parent_fd != -1 && up_send(u->parent_fd, UP_READY, NULL, NULL) == -1)
		log_warn("upgrade: telling the old supervisor we are ready");
	snprintf(buf, sizeof(buf), "MAINPID=%d", (int)getpid());
	notify_systemd(buf);
}

int
upgrade_take_totals(struct upgrade *u, struct upgrade_totals *t)
{
	struct up_msg m;
	int r;

	while (u->parent_fd != -1 && (r = up_recv(u->parent_fd, &m)) != 0) {
		if (r == 1 && m.hd.type != UP_TOTALS)
			continue;
		close(u->parent_fd);
		u->parent_fd = -1;
		u->handed_over = true;
		if (r == 1) {
			*t = m.t;
			return 1;
		}
		log_warnx("upgrade: the old supervisor left without handing over its "
		    "counters; totals start from zero");
	}
	return 0;
}
