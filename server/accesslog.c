#include "server/accesslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN (4 * ACCESSLOG_FIELD_MAX + 256)

static int
accesslog_open_path(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int
accesslog_open(struct accesslog *al, const char *spec)
{
	memset(al, 0, sizeof(*al));
	al->fd = -1;
	if (spec == NULL || strcmp(spec, "off") == 0)
		return 0;
	if (strlen(spec) >= sizeof(al->path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((al->buf = malloc(ACCESSLOG_BUF)) == NULL)
		return -1;
	if (strcmp(spec, "-") == 0 || spec[0] == '\0') {
		al->fd = STDOUT_FILENO;
	} else {
		if ((al->fd = accesslog_open_path(spec)) == -1) {
			free(al->buf);
			al->buf = NULL;
			return -1;
		}
		al->own_fd = 1;
		memcpy(al->path, spec, strlen(spec) + 1);
	}
	al->enabled = 1;
	return 0;
}

int
accesslog_open_fd(struct accesslog *al, int fd)
{
	memset(al, 0, sizeof(*al));
	al->fd = -1;
	if ((al->buf = malloc(ACCESSLOG_BUF)) == NULL)
		return -1;
	al->fd = fd;
	al->own_fd = 1;
	al->enabled = 1;
	return 0;
}

int
accesslog_adopt(struct accesslog *al, int fd)
{
	int ret = accesslog_flush(al);

	if (!al->enabled || !al->own_fd) {
		close(fd);
		return ret;
	}
	close(al->fd);
	al->fd = fd;
	return ret;
}

int
accesslog_flush(struct accesslog *al)
{
	size_t off = 0;
	ssize_t n;
	int ret = 0;

	while (al->enabled && off < al->len) {
		n = write(al->fd, al->buf + off, al->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			ret = -1;
			break;
		}
		off += (size_t)n;
	}
	al->len = 0;
	return ret;
}

int
accesslog_reopen(struct accesslog *al)
{
	int fd, ret;

	ret = accesslog_flush(al);
	if (!al->enabled || !al->own_fd)
		return ret;
	if ((fd = accesslog_open_path(al->path)) == -1)
		return -1;
	close(al->fd);
	al->fd = fd;
	return ret;
}

int
accesslog_close(struct accesslog *al)
{
	int ret = accesslog_flush(al);

	if (al->own_fd && al->fd != -1)
		close(al->fd);
	free(al->buf);
	al->buf = NULL;
	al->fd = -1;
	al->enabled = 0;
	return ret;
}

/* Quoted field with nginx-style \xHH escapes for '"', '\\' and anything
 * outside printable ASCII, so a client cannot forge log lines. */
static size_t
put_quoted(char *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0, i;
	unsigned char ch;

	out[n++] = '"';
	if (s == NULL || len == 0) {
		out[n++] = '-';
		out[n++] = '"';
		return n;
	}
	for (i = 0; i < len && n < ACCESSLOG_FIELD_MAX; i++) {
		ch = (unsigned char)s[i];
		if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		} else
			out[n++] = (char)ch;
	}
	out[n++] = '"';
	return n;
}

static size_t
put_peer(char *out, const struct sockaddr *sa)
{
	const char *p = NULL;

	if (sa != NULL && sa->sa_family == AF_INET)
		p = inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, 64);
	else if (sa != NULL && sa->sa_family == AF_INET6)
		p = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, 64);
	if (p == NULL) {
		out[0] = '-';
		return 1;
	}
	return strlen(out);
}

static const char *
accesslog_time(struct accesslog *al, time_t t)
{
	struct tm tm;

	if (t != al->tcache || al->tstr[0] == '\0') {
		al->tcache = t;
		if (localtime_r(&t, &tm) == NULL ||
		    strftime(al->tstr, sizeof(al->tstr), "[%d/%b/%Y:%H:%M:%S %z]", &tm) == 0)
			strcpy(al->tstr, "[-]");
	}
	return al->tstr;
}

size_t
accesslog_format(struct accesslog *al, const struct accesslog_entry *e, char *out)
{
	size_t n;
	const char *ts = accesslog_time(al, e->t);

	n = put_peer(out, e->peer);
	memcpy(out + n, " - - ", 5);
	n += 5;
	memcpy(out + n, ts, strlen(ts));
	n += strlen(ts);
	out[n++] = ' ';
	n += put_quoted(out + n, e->request, e->request_len);
	n += (size_t)snprintf(out + n, 64, " %d %llu ", e->status, (unsigned long long)e->bytes);
	n += put_quoted(out + n, e->referer, e->referer_len);
	out[n++] = ' ';
	n += put_quoted(out + n, e->user_agent, e->user_agent_len);
	out[n++] = '\n';
	return n;
}

int
accesslog_append(struct accesslog *al, const struct accesslog_entry *e)
{
	int ret = 0;

	if (!al->enabled)
		return 0;
	if (ACCESSLOG_BUF - al->len < LINE_MAX_LEN)
		ret = accesslog_flush(al);
	al->len += accesslog_format(al, e, al->buf + al->len);
	return ret;
}
