/*
 * Binary upgrade (docs/ARCHITECTURE.md: The life of an upgrade): the running ("old") supervisor forks and
 * execs its own binary path with the same arguments; the new one inherits
 * the listening sockets and one end of a socketpair, starts a full
 * generation, says READY, and the old one retires its workers, hands its
 * final counters over and exits. Anything short of READY in time is rolled
 * back by the old supervisor.
 *
 * This file owns the mechanics (fork/exec, environment, the handover
 * protocol, rollback); supervisor.c owns the workers and calls in at a few
 * points.
 */
#ifndef PREFORKD_UPGRADE_H
#define PREFORKD_UPGRADE_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc/msg.h"

#define UPGRADE_MAX_LISTEN 64

struct tls_state;

/* Counters that continue across an upgrade. */
struct upgrade_totals {
	struct stats_counters totals;
	uint64_t reloads, unexpected, hung, dropped, upgrades, upgrades_failed;
	uint32_t generation;
};

struct upgrade {
	char exe[PATH_MAX];       /* absolute path this binary was started from */
	/* old side */
	pid_t child;              /* the new supervisor, 0 when none runs */
	int fd;                   /* our end of the socketpair, -1 when none */
	int64_t deadline_ms;
	bool ready;               /* the new one said READY: we are retiring */
	pid_t requester;          /* preforkctl waiting for the outcome, or 0 */
	char why[256];            /* what the new one said went wrong */
	pid_t dead[8];            /* killed children still to reap and clean */
	/* new side */
	int parent_fd;            /* inherited channel to the old supervisor */
	pid_t parent;
	bool inherited;           /* we were started by an upgrade */
	bool announced;           /* we told it READY (and took the pidfile) */
	bool handed_over;         /* the old one's totals are in (or it is gone) */
	bool activated;           /* the old one's sockets came from systemd */
	int nlisten;
	int listen_fds[UPGRADE_MAX_LISTEN];
	uint32_t generation;      /* the old one's generation */
	uint64_t upgrades, upgrades_failed;
};

/* What the caller has to know to start an upgrade. */
struct upgrade_start {
	char **argv;
	const int *listen_fds;
	int nlisten;
	bool activated;
	unsigned generation;
	const char *pidfile;      /* "" when none */
	const sigset_t *sigmask;  /* what the child restores before exec */
	pid_t requester;          /* preforkctl to answer, or 0 */
	int timeout_ms;
	int64_t now_ms;
	const struct tls_state *tls;  /* ticket keys to hand over, or NULL */
};

/* Remembers the absolute path of the running binary (argv0 resolved now,
 * so a later chdir or a replaced file does not matter) and reads what an
 * upgrading parent left in the environment. Returns 0, or -1 when the
 * inherited state is unusable (logged). */
int upgrade_init(struct upgrade *u, const char *argv0);

/* ---- old side ---- */
/* Forks and execs the new binary; the session-ticket keys of a->tls are
 * queued on the channel before the fork, so they are there the moment the
 * new supervisor looks (upgrade_take_keys). Returns the fd to watch for
 * the new supervisor's messages, or -1 (logged; an upgrade already running
 * is logged and ignored). */
int upgrade_begin(struct upgrade *u, const struct upgrade_start *a);
/* What upgrade_begin queues on fd: st's key ring (none when st is NULL
 * or has no keys), the next rotation due at st->rotate_ms. Wipes its copy. */
void upgrade_send_keys(int fd, const struct tls_state *st, int64_t now_ms);
/* Tells a waiting preforkctl (pid > 1) that its request was not taken. */
void upgrade_refuse(pid_t requester);
/* Reads from the new supervisor. Returns 1 when it has just said READY. */
int upgrade_read(struct upgrade *u);
/* pid was reaped with status. A death before READY rolls back; one after
 * READY but before our handover also rolls back, and the caller must start
 * serving again (UPGRADE_RESUME). */
enum { UPGRADE_NOT_OURS, UPGRADE_REAPED, UPGRADE_RESUME };
int upgrade_reaped(struct upgrade *u, pid_t pid, int status, const char *pidfile);
/* Rolls back when the deadline passed without READY. */
void upgrade_check_deadline(struct upgrade *u, int64_t now_ms, const char *pidfile);
/* The upgrade is pending (forked, not ready yet). */
bool upgrade_pending(const struct upgrade *u);
/* Stops a pending upgrade because we are stopping: the new supervisor
 * gets TERM, the pidfile is restored. */
void upgrade_cancel(struct upgrade *u, const char *pidfile);
/* After READY, once every old worker is gone: sends the final counters to
 * the new supervisor and removes PIDFILE.oldbin. */
void upgrade_hand_over(struct upgrade *u, const struct upgrade_totals *t,
    const char *pidfile);

/* ---- new side ---- */
/* Started by an upgrade but the configuration is bad: tell the old
 * supervisor why, so its "upgrade failed" line names it. */
void upgrade_report_error(const char *text);
/* Before our first workers: takes the session-ticket keys the old
 * supervisor queued, with its rotation schedule and count, into st, so
 * tickets it issued resume on our workers. Returns 1 when taken; 0 when
 * none came (not an upgrade, an older binary, or it had no keys) and -1
 * when they were malformed: then st keeps none, fresh keys are drawn and,
 * with TLS in use, that is logged. */
int upgrade_take_keys(struct upgrade *u, struct tls_state *st, int64_t now_ms);
/* Our generation is ready: tell the old supervisor (and systemd). */
void upgrade_announce_ready(struct upgrade *u);
/* Reads the old supervisor's handover. Returns 1 when *t was filled (the
 * caller adds it), 0 otherwise; sets handed_over when done either way. */
int upgrade_take_totals(struct upgrade *u, struct upgrade_totals *t);

/* The name of a queue of pid (for cleaning up after a killed child). */
void upgrade_unlink_queues(pid_t pid);

#endif
