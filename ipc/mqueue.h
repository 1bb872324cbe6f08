/*
 * POSIX message queues: the stats queue (workers -> supervisor) and the
 * control queue (preforkctl -> supervisor). Names are
 * "/preforkd.<supervisor pid>.stats" and ".ctl".
 */
#ifndef PREFORKD_MQUEUE_H
#define PREFORKD_MQUEUE_H

#include <mqueue.h>
#include <stddef.h>
#include <sys/types.h>
#include "channel.h" /* enum channel_result, what mqueue_recv returns */
#include "msg.h"

/* Writes "/preforkd.<pid>.<suffix>". Returns 0, or -1 if it does not fit. */
int mqueue_name(char *buf, size_t len, pid_t pid, const char *suffix);
/* Creates exclusively, for non-blocking receive, with room for maxmsg
 * messages of MSG_MAX_SIZE (maxmsg is clamped to /proc/sys/fs/mqueue/msg_max).
 * Returns the descriptor or (mqd_t)-1 with errno. */
mqd_t mqueue_create(const char *name, long maxmsg, mode_t mode);
/* Opens an existing queue for non-blocking send (close-on-exec). */
mqd_t mqueue_open_send(const char *name);
/* Encodes and sends without blocking: 0, or -1 with errno (EAGAIN if full). */
int mqueue_send(mqd_t q, struct msg *m, enum msg_type type);
/* Receives one message without blocking; the results mean what they mean for
 * channel_recv (there is no EOF on a queue). Any bytes a foreign writer put
 * in the queue are read whole and come back as CHANNEL_BAD with *why. q must
 * have mq_msgsize <= 8192 (every queue mqueue_create makes has MSG_MAX_SIZE);
 * otherwise CHANNEL_ERROR with errno EMSGSIZE. */
int mqueue_recv(mqd_t q, struct msg *out, enum msg_result *why);
/*
 * Creates the supervisor's queue of kind ("stats", "ctl") for pid, writing
 * its name to name. The usual name first; if it exists and is ours (left
 * by a dead process with the same pid) it is replaced; if it is someone
 * else's (a local user squatting upcoming pids), "/preforkd.<pid>.<8 hex
 * digits>.<kind>" is used instead. Returns the descriptor or (mqd_t)-1
 * with errno.
 */
mqd_t mqueue_create_ours(char *name, size_t len, pid_t pid, const char *kind,
    long maxmsg, mode_t mode);
/* Whether queue name exists, is owned by uid and closed to others: 1, 0,
 * or -1 when it cannot tell (/dev/mqueue not mounted). */
int mqueue_owned(const char *name, uid_t uid);
/* The name of supervisor pid's queue of kind, for its clients: the usual
 * one unless that belongs to another user than pid's and a queue
 * "/preforkd.<pid>.<hex>.<kind>" of pid's user exists. Returns 0, or -1 if
 * the name does not fit. */
int mqueue_find(char *buf, size_t len, pid_t pid, const char *kind);
/* The kernel's per-queue message limit (msg_max), 10 if unreadable. */
long mqueue_msg_max(void);

#endif
