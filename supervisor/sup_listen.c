/*
 * The supervisor's listening sockets. A slot table rather than the config's
 * list, because a socket outlives the configuration that asked for it: a
 * reload keeps the sockets it still wants (same text, same address), binds
 * the new ones and closes a dropped one only once no worker of an older
 * generation can be accepting on it. Sockets can also come from systemd
 * (kept for life) or from the old supervisor of an upgrade.
 */
#include "supervisor/sup_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bsd/string.h>

#include "ipc/base/log.h"
#include "supervisor/activation.h"
#include "supervisor/listen.h"

int
sup_listen_fds(const struct sup *s, int *fds)
{
	int n = 0;

	for (int i = 0; i < SUP_MAX_LISTENERS; i++)
		if (s->listeners[i].fd != -1 && s->listeners[i].active)
			fds[n++] = s->listeners[i].fd;
	return n;
}

/* The TLS flag of each socket sup_listen_fds lists, in the same order. */
void
sup_listen_tls(const struct sup *s, unsigned char *tls)
{
	int n = 0;

	for (int i = 0; i < SUP_MAX_LISTENERS; i++)
		if (s->listeners[i].fd != -1 && s->listeners[i].active)
			tls[n++] = s->listeners[i].conf.tls;
}

static struct listener *
sup_listener_find(struct sup *s, const struct config_listen *cl)
{
	for (int i = 0; i < SUP_MAX_LISTENERS; i++)
		if (s->listeners[i].fd != -1 && s->listeners[i].active &&
		    listen_same(&s->listeners[i].conf, cl))
			return &s->listeners[i];
	return NULL;
}

static struct listener *
sup_listener_free_slot(struct sup *s)
{
	for (int i = 0; i < SUP_MAX_LISTENERS; i++)
		if (s->listeners[i].fd == -1)
			return &s->listeners[i];
	return NULL;
}

/* Every cc= of c is one this kernel lets us set, tried on a scratch
 * socket before any listener changes, so a reload is refused whole. */
static int
sup_listen_check_cc(const struct config *c, char *err, size_t errlen)
{
	int fd = -1, rc = 0;

	for (int i = 0; i < c->nlisten && rc == 0; i++) {
		if (c->listen[i].cc[0] == '\0')
			continue;
		if (fd == -1 && (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
			snprintf(err, errlen, "listen %s cc=%s: socket: %s", c->listen[i].text,
			    c->listen[i].cc, strerror(errno));
			return -1;
		}
		if (listen_set_cc(fd, c->listen[i].cc) == -1) {
			listen_cc_error(&c->listen[i], errno, err, errlen);
			rc = -1;
		}
	}
	if (fd != -1)
		close(fd);
	return rc;
}

/* A kept socket takes the cc= of its new "listen" line, or the kernel's
 * default again when the line dropped it; connections accepted from now
 * on get it. "?" (an inherited socket) is whatever the old binary set. */
static void
sup_listen_update_cc(struct listener *l, const struct config_listen *cl)
{
	char def[sizeof(cl->cc)];
	const char *want = cl->cc;

	if (strcmp(l->conf.cc, cl->cc) == 0)
		return;
	if (want[0] == '\0' && listen_default_cc(def, sizeof(def)) == 0)
		want = def;
	if (want[0] != '\0' && listen_set_cc(l->fd, want) == -1)
		log_warn("listen %s: congestion control %s", cl->text, want);
	memcpy(l->conf.cc, cl->cc, sizeof(l->conf.cc));
}

/*
 * Binds every address of c that is not open yet; the new ones are marked
 * with fresh = true in the returned set. On failure closes what it bound
 * and fills err. Existing sockets are matched by configured text and
 * resolved address, so a reload keeps them (and their queued connections).
 * Sockets from systemd are kept as they are, whatever the configuration says.
 */
int
sup_listen_bind(struct sup *s, const struct config *c, bool *keep, char *err,
    size_t errlen)
{
	struct listener *bound[CONFIG_MAX_LISTEN];
	int nbound = 0;

	memset(keep, 0, SUP_MAX_LISTENERS * sizeof(*keep));
	if (s->activated) {
		for (int i = 0; i < SUP_MAX_LISTENERS; i++)
			keep[i] = s->listeners[i].fd != -1 && s->listeners[i].active;
		return 0;
	}
	if (sup_listen_check_cc(c, err, errlen) == -1)
		return -1;
	for (int i = 0; i < c->nlisten; i++) {
		struct listener *l = sup_listener_find(s, &c->listen[i]);

		if (l != NULL) {
			keep[l - s->listeners] = true;
			l->conf.tls = c->listen[i].tls;   /* "tls" added or removed */
			sup_listen_update_cc(l, &c->listen[i]);
			continue;
		}
		if ((l = sup_listener_free_slot(s)) == NULL) {
			snprintf(err, errlen, "too many listeners");
			goto fail;
		}
		l->fd = listen_open(&c->listen[i], c->backlog, err, errlen);
		if (l->fd == -1)
			goto fail;
		l->conf = c->listen[i];
		l->active = false;      /* activated by the caller on success */
		keep[l - s->listeners] = true;
		bound[nbound++] = l;
		if (listen_actual(l->fd, l->actual, sizeof(l->actual)) == -1)
			strlcpy(l->actual, l->conf.text, sizeof(l->actual));
	}
	return 0;
fail:
	for (int i = 0; i < nbound; i++) {
		close(bound[i]->fd);
		bound[i]->fd = -1;
	}
	return -1;
}

/*
 * Takes the sockets systemd handed over, if any. They replace the "listen"
 * lines for the life of the process, as gunicorn does: the socket unit is
 * where the operator chose the addresses, and binding the configured ones
 * beside them would serve addresses nobody asked for.
 */
int
sup_listen_activate(struct sup *s, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fds[SUP_MAX_LISTENERS];
	/* No more than a configuration may list: that is what a worker takes. */
	int n = activation_take(fds, CONFIG_MAX_LISTEN, err, errlen);

	for (int i = 0; i < n; i++) {
		struct listener *l = &s->listeners[i];

		sl = sizeof(ss);
		l->fd = fds[i];
		l->active = true;
		if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) == 0) {
			memcpy(&l->conf.addr, &ss, sl);
			l->conf.addrlen = sl;
		}
		if (listen_actual(l->fd, l->actual, sizeof(l->actual)) == -1)
			snprintf(l->actual, sizeof(l->actual), "fd %d", l->fd);
		strlcpy(l->conf.text, l->actual, sizeof(l->conf.text));
	}
	s->activated = n > 0;
	return n;
}

/* Whether the socket bound to ss is what cl asks for (port 0: any port). */
static bool
sup_listen_matches(const struct config_listen *cl, const struct sockaddr_storage *ss,
    socklen_t sl)
{
	struct config_listen c = *cl;

	if (c.addrlen != sl)
		return false;
	if (ss->ss_family == AF_INET && ((const struct sockaddr_in *)&c.addr)->sin_port == 0)
		((struct sockaddr_in *)&c.addr)->sin_port =
		    ((const struct sockaddr_in *)ss)->sin_port;
	if (ss->ss_family == AF_INET6 && ((const struct sockaddr_in6 *)&c.addr)->sin6_port == 0)
		((struct sockaddr_in6 *)&c.addr)->sin6_port =
		    ((const struct sockaddr_in6 *)ss)->sin6_port;
	return memcmp(&c.addr, ss, sl) == 0;
}

/*
 * New side of an upgrade: the old supervisor's sockets, matched to our
 * "listen" lines by address (so sup_listen_bind keeps them and only binds
 * what is new); sockets systemd handed the old one stay activated for life.
 */
void
sup_listen_inherit(struct sup *s)
{
	for (int i = 0, n = 0; i < s->up.nlisten && n < SUP_MAX_LISTENERS; i++) {
		struct listener *l = &s->listeners[n];
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = s->up.listen_fds[i];

		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
			close(fd);
			continue;
		}
		l->fd = fd;
		l->active = true;
		l->conf.addrlen = sl;
		memcpy(&l->conf.addr, &ss, sl);
		if (listen_actual(fd, l->actual, sizeof(l->actual)) == -1)
			snprintf(l->actual, sizeof(l->actual), "fd %d", fd);
		strlcpy(l->conf.text, l->actual, sizeof(l->conf.text));
		for (int k = 0; k < s->conf.nlisten && !s->up.activated; k++)
			if (sup_listen_matches(&s->conf.listen[k], &ss, sl))
				l->conf = s->conf.listen[k];
		strlcpy(l->conf.cc, "?", sizeof(l->conf.cc));   /* set again by the bind */
		n++;
	}
	s->activated = s->up.activated;
}

/* Makes exactly the kept listeners active; the rest stay open until no
 * worker of an older generation can still be using them. */
void
sup_listen_commit(struct sup *s, const bool *keep)
{
	for (int i = 0; i < SUP_MAX_LISTENERS; i++)
		if (s->listeners[i].fd != -1)
			s->listeners[i].active = keep[i];
}

void
sup_listen_close_unused(struct sup *s, bool all)
{
	for (int i = 0; i < SUP_MAX_LISTENERS; i++) {
		struct listener *l = &s->listeners[i];

		if (l->fd == -1 || (l->active && !all))
			continue;
		if (!all)
			log_info("closing listener %s: no longer configured", l->actual);
		close(l->fd);
		l->fd = -1;
		l->active = false;
	}
}

void
sup_listen_describe(const struct sup *s, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int i = 0; i < SUP_MAX_LISTENERS; i++) {
		if (s->listeners[i].fd == -1 || !s->listeners[i].active)
			continue;
		if (buf[0] != '\0')
			strlcat(buf, ", ", len);
		strlcat(buf, s->listeners[i].actual, len);
	}
}
