#include "supervisor/agent.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>

#include "ipc/base/log.h"
#include "supervisor/listen.h"

#define AGENT_BACKLOG 64
#define AGENT_RETRY_MS 1000
#define AGENT_BATCH 64

void
agent_init(struct agent *a)
{
	memset(a, 0, sizeof(*a));
	a->fd = -1;
}

void
agent_decide(bool drained, const struct agent_load *l, char *state, char *answer)
{
	uint64_t per, cap, avail, pct;

	if (drained || l->stopping) {
		strlcpy(state, "drain", AGENT_STATE_LEN);
		strlcpy(answer, "drain", AGENT_ANSWER_LEN);
		return;
	}
	if (l->ready <= 0) {
		strlcpy(state, "down", AGENT_STATE_LEN);
		strlcpy(answer, "down", AGENT_ANSWER_LEN);
		return;
	}
	/* Capacity a full healthy generation would offer; what is left of it. */
	per = (uint64_t)(l->max_connections > 0 ? l->max_connections : 1);
	cap = (uint64_t)(l->target > l->ready ? l->target : l->ready) * per;
	avail = (uint64_t)l->healthy * per;
	avail = avail > l->active ? avail - l->active : 0;
	pct = avail * 100 / cap;
	if (pct < 1)
		pct = 1;    /* still up: 0% would be a drain in disguise */
	if (pct > 100)
		pct = 100;
	strlcpy(state, "ready", AGENT_STATE_LEN);
	snprintf(answer, AGENT_ANSWER_LEN, "up ready %u%%", (unsigned)pct);
}

void
agent_load_from(const struct procs *t, int target,
    const struct config *c, bool stopping, int64_t now, struct agent_load *l)
{
	memset(l, 0, sizeof(*l));
	l->target = target;
	l->max_connections = c->max_connections;
	l->stopping = stopping;
	for (int i = 0; i < PROCS_MAX; i++) {
		const struct proc *p = &t->p[i];

		if (p->state != PROC_READY)
			continue;
		l->ready++;
		/* Late by half the worker timeout: likely hung, offers nothing. */
		if (procs_is_hung(p, now, c->worker_timeout_ms / 2))
			continue;
		l->healthy++;
		l->active += p->latest.connections_active;
	}
}

static int
agent_open(const struct config_listen *cl, char *err, size_t errlen)
{
	int fd, one = 1;

	/* SO_REUSEPORT: during a binary upgrade the new supervisor binds the
	 * same address while the old one still answers. */
	fd = socket(cl->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    bind(fd, (const struct sockaddr *)&cl->addr, cl->addrlen) == -1 ||
	    listen(fd, AGENT_BACKLOG) == -1) {
		snprintf(err, errlen, "agent_listen %s: %s", cl->text, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

int
agent_sync(struct agent *a, const struct config_listen *want, int64_t now,
    int *old_fd, char *err, size_t errlen)
{
	*old_fd = -1;
	if (a->fd != -1 && want != NULL && listen_same(&a->bound, want))
		return 0;
	if (a->fd == -1 && want == NULL)
		return 0;
	if (want != NULL && now < a->retry_ms)
		return 0;
	*old_fd = a->fd;
	if (a->fd != -1)
		close(a->fd);
	a->fd = -1;
	if (want != NULL && (a->fd = agent_open(want, err, errlen)) == -1) {
		a->retry_ms = now + AGENT_RETRY_MS;
		return -1;
	}
	if (want != NULL)
		a->bound = *want;
	return 1;
}

void
agent_serve(struct agent *a)
{
	char line[AGENT_ANSWER_LEN + 1];
	size_t n = strlcpy(line, a->answer, sizeof(line) - 1);
	int fd;

	line[n++] = '\n';
	for (int i = 0; i < AGENT_BATCH && a->fd != -1; i++) {
		fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				log_warn("agent accept");
			return;
		}
		/* A few bytes into an empty socket buffer: never blocks. */
		if (send(fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)n)
			log_debug("agent: reply not sent");
		close(fd);
	}
}

void
agent_close(struct agent *a)
{
	if (a->fd != -1)
		close(a->fd);
	a->fd = -1;
}
