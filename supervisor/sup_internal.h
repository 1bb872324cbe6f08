/*
 * Private to the supervisor's own files (supervisor.c and sup_*.c): the one
 * state they share, struct sup, and the functions they call in each other.
 * Nothing outside the daemon includes this; the rest of the tree sees only
 * supervisor_run() in supervisor.h.
 *
 *   supervisor.c    the loop, its timers, the snapshot, setup and teardown
 *   sup_listen.c    listening sockets: bind, activate, inherit, keep, close
 *   sup_workers.c   worker lifecycle: spawn, retire, kill, reap, converge
 *   sup_messages.c  what workers send: channels and the stats queue
 *   sup_intents.c   acting on signals and control messages
 *   sup_upgrade.c   the loop's side of a binary upgrade (upgrade.c: mechanics)
 *   sup_fifo.c      the status FIFO: probing for a reader, writing, detaching
 */
#ifndef PREFORKD_SUP_INTERNAL_H
#define PREFORKD_SUP_INTERNAL_H

#include <mqueue.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ipc/msg.h"
#include "ipc/snapshot.h"
#include "supervisor/agent.h"
#include "supervisor/config.h"
#include "supervisor/intents.h"
#include "supervisor/listen.h"
#include "supervisor/procs.h"
#include "supervisor/status.h"
#include "supervisor/tls_keys.h"
#include "supervisor/upgrade.h"

#define SUP_MAX_LISTENERS (2 * CONFIG_MAX_LISTEN)
#define SUP_PROBE_MS 50          /* status FIFO reader detection */
#define SUP_MAX_WAIT_MS 1000
#define SUP_FORK_RETRY_MS 1000     /* after fork() itself failed */
/* The worker's graceful deadline starts when it reads the message, ours when
 * we send it; a worker holding a slow client then closes it, sends its final
 * counters and exits. The margin lets it do that before SIGKILL. */
#define SUP_KILL_MARGIN_MS 2000

/* What an epoll event belongs to; the fd rides in the low 32 bits. */
enum sup_kind { EV_SIGNAL = 1, EV_CHANNEL, EV_STATSQ, EV_CTLQ, EV_FIFO, EV_WATCH,
    EV_UPGRADE, EV_AGENT };

struct listener {
	struct config_listen conf;
	int fd;
	bool active;                 /* in the current configuration */
	char actual[LISTEN_ADDR_LEN];
};

struct sup {
	struct config conf;
	int argc;
	char **argv;
	int conf_workers;            /* "workers" as last read from the config */
	int target;
	unsigned generation;
	struct procs procs;
	struct listener listeners[SUP_MAX_LISTENERS];
	int epfd, sigfd;
	sigset_t sigmask;
	mqd_t statsq, ctlq;
	char statsq_name[64], ctlq_name[64];
	bool have_status;
	bool activated;              /* listeners came from systemd, for life */
	struct status status;
	int64_t status_probe_ms, status_next_ms, status_last_ms;
	bool status_reattach;        /* a reader left while a snapshot was partial */
	int status_warned;           /* errno the FIFO could not be opened with; said so */
	bool table_warned;           /* a spawn waited for table room; said so */
	struct pidfh *pfh;
	int access_fd;               /* the access log file, for the workers */
	int64_t start_ms;
	time_t start_wall;
	struct upgrade up;           /* binary upgrade, either side (upgrade.c) */
	uint64_t reloads, unexpected, hung, dropped;
	struct intents in;
	bool stopping, quitting, ready_pending;
	struct agent agent;          /* HAProxy agent-check (agent.c) */
	struct snapshot snap;
	struct tls_state tls;
};

/* supervisor.c: epoll registration, tagged with what the fd is. */
int sup_watch(struct sup *s, int op, enum sup_kind kind, int fd, uint32_t events);
void sup_unwatch(struct sup *s, int fd);

/* sup_listen.c */
int sup_listen_fds(const struct sup *s, int *fds);
void sup_listen_tls(const struct sup *s, unsigned char *tls);
int sup_listen_bind(struct sup *s, const struct config *c, bool *keep, char *err,
    size_t errlen);
int sup_listen_activate(struct sup *s, char *err, size_t errlen);
void sup_listen_inherit(struct sup *s);
void sup_listen_commit(struct sup *s, const bool *keep);
void sup_listen_close_unused(struct sup *s, bool all);
void sup_listen_describe(const struct sup *s, char *buf, size_t len);

/* sup_workers.c */
void sup_open_access_log(struct sup *s);
void sup_send_log_fds(struct sup *s, struct proc *p);
void sup_close_channel(struct sup *s, struct proc *p);
void sup_send(struct proc *p, enum msg_type type, uint32_t deadline_ms);
void sup_kill(struct proc *p);
void sup_retire_all(struct sup *s, int64_t now);
void sup_reap(struct sup *s, int64_t now);
void sup_deadlines(struct sup *s, int64_t now);
void sup_converge(struct sup *s, int64_t now);

/* sup_messages.c */
void sup_drain_stats(struct sup *s);
void sup_read_channel(struct sup *s, struct proc *p, int64_t now);

/* sup_intents.c */
int sup_clamp_workers(const struct sup *s, int n);
void sup_quit(struct sup *s);
void sup_intents(struct sup *s, int64_t now);

/* sup_upgrade.c */
void sup_upgrade_begin(struct sup *s, pid_t requester, int64_t now);
void sup_upgrade_resume(struct sup *s, int64_t now);
void sup_upgrade_hand_over(struct sup *s);
void sup_upgrade_ready(struct sup *s);
void sup_upgrade_event(struct sup *s, int fd, int64_t now);

/* sup_fifo.c */
void sup_status_detach(struct sup *s, int64_t now);
void sup_status_watch(struct sup *s, int64_t now);
void sup_status_flush(struct sup *s, int64_t now);
void sup_status_probe(struct sup *s, int64_t now);

#endif
