/*
 * Reading snapshots from the status FIFO and printing them (ctl_status.h).
 * The supervisor writes whole records; a record that arrives in pieces
 * (larger than the pipe buffer) is reassembled here.
 */
#include "supervisor/ctl/ctl_status.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipc/base/clock.h"
#include "ipc/snapshot_fields.h"
#include "supervisor/ctl/ctl_json.h"

int
ctl_status_open(struct ctl_status_reader *r, const char *path)
{
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISFIFO(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	r->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	return r->fd == -1 ? -1 : 0;
}

void
ctl_status_close(struct ctl_status_reader *r)
{
	if (r->fd != -1)
		close(r->fd);
	free(r->buf);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* Length of the first complete record in buf[0..len) including its
 * terminator, or 0. JSON ends at '\n'; OpenMetrics at "# EOF\n"; text at
 * an empty line. */
static size_t
record_end(const char *buf, size_t len)
{
	const char *e;

	if (len == 0)
		return 0;
	if (buf[0] == '\n')
		return 1; /* a stray blank line */
	if (buf[0] == '{') {
		e = memchr(buf, '\n', len);
		return e == NULL ? 0 : (size_t)(e - buf) + 1;
	}
	if (buf[0] == '#') {
		if (len >= 6 && memcmp(buf, "# EOF\n", 6) == 0)
			return 6;
		e = memmem(buf, len, "\n# EOF\n", 7);
		return e == NULL ? 0 : (size_t)(e - buf) + 7;
	}
	e = memmem(buf, len, "\n\n", 2);
	return e == NULL ? 0 : (size_t)(e - buf) + 2;
}

static int
fill(struct ctl_status_reader *r)
{
	char *nbuf;
	ssize_t n;

	if (r->cap - r->len < 65536) {
		if (r->cap >= CTL_STATUS_MAX) {
			errno = EMSGSIZE;
			return -1;
		}
		if ((nbuf = realloc(r->buf, r->cap + 65536 + 1)) == NULL)
			return -1;
		r->buf = nbuf;
		r->cap += 65536;
	}
	n = read(r->fd, r->buf + r->len, r->cap - r->len);
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0) /* no writer attached at the moment: do not spin */
		poll(NULL, 0, 20);
	r->len += (size_t)n;
	return 0;
}

int
ctl_status_next(struct ctl_status_reader *r, int timeout_ms, const char **rec)
{
	int64_t deadline = clock_mono_ms() + timeout_ms, left;
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	size_t end;

	if (r->taken > 0) {
		memmove(r->buf, r->buf + r->taken, r->len - r->taken);
		r->len -= r->taken;
		r->taken = 0;
	}
	for (;;) {
		while ((end = record_end(r->buf, r->len)) == 1)
			memmove(r->buf, r->buf + 1, --r->len);
		if (end > 0) {
			r->taken = end;
			r->buf[end - 1] = '\0';
			if (end >= 2 && r->buf[end - 2] == '\n')
				r->buf[end - 2] = '\0';
			*rec = r->buf;
			return 1;
		}
		if ((left = deadline - clock_mono_ms()) <= 0)
			return 0;
		if (poll(&pfd, 1, (int)(left < 50 ? left : 50)) == -1 && errno != EINTR)
			return -1;
		if (fill(r) == -1)
			return -1;
	}
}

void
ctl_status_duration(double secs, char *buf, size_t len)
{
	uint64_t s;

	if (!(secs >= 0))
		secs = 0;
	if (secs < 60) {
		snprintf(buf, len, "%.1fs", secs);
		return;
	}
	s = (uint64_t)secs;
	if (s >= 86400)
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h%02" PRIu64 "m",
		    s / 86400, s / 3600 % 24, s / 60 % 60);
	else if (s >= 3600)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s",
		    s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
}

/* Counters are integers on the wire; print them without a fraction. */
static void
print_count(FILE *out, const char *obj, const char *path)
{
	double v = ctl_json_num_at(obj, path, -1);

	if (v < 0)
		fputs("-", out);
	else
		fprintf(out, "%.0f", v);
}

static void
print_listen(FILE *out, const char *snap)
{
	const char *l;
	char addr[128];

	for (l = ctl_json_first(ctl_json_get(snap, "listen")); l != NULL;
	    l = ctl_json_next(l)) {
		if (ctl_json_string(l, addr, sizeof(addr)) == 0)
			fprintf(out, " %s", addr);
	}
}

/* A worker's cell: "-" for what is missing (or negative, for numbers). */
static void
print_cell(const char *w, const struct snap_field *f, char *buf, size_t len)
{
	double v;

	if (f->type == SNAP_STR || f->type == SNAP_TIME) {
		ctl_json_str_at(w, f->path, buf, len);
		if (buf[0] == '\0')
			snprintf(buf, len, "-");
		return;
	}
	v = ctl_json_num_at(w, f->path, -1);
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, f->type == SNAP_MS ? "%.0fms" : "%.0f", v);
}

/* One line of the worker table, w's cells or (w NULL) the titles: the
 * worker fields that have a column, in table order. */
static void
print_worker_row(FILE *out, const char *w)
{
	const struct snap_field *f;
	const char *sep = "";
	char cell[64];
	size_t k;

	for (k = 0; k < snapshot_worker_nfields; k++) {
		f = &snapshot_worker_fields[k];
		if (f->ctl == NULL)
			continue;
		if (w != NULL)
			print_cell(w, f, cell, sizeof(cell));
		fprintf(out, "%s%*s", sep, f->ctl_width, w != NULL ? cell : f->ctl);
		sep = " ";
	}
	fputs("\n", out);
}

static void
print_workers(FILE *out, const char *rec)
{
	const char *w;

	print_worker_row(out, NULL);
	for (w = ctl_json_first(ctl_json_get(rec, "workers")); w != NULL; w = ctl_json_next(w))
		print_worker_row(out, w);
}

/* How long a certificate has left, or that it has run out. */
static void
print_expires(FILE *out, const char *obj, const char *path)
{
	double in = ctl_json_num_at(obj, path, 0);
	char left[32];

	ctl_status_duration(in > 0 ? in : 0, left, sizeof(left));
	fprintf(out, "%s%s", in > 0 ? "in " : "", in > 0 ? left : "EXPIRED");
}

static void
print_value(FILE *out, const char *rec, const struct snap_field *f)
{
	char str[1024];

	switch (f->type) {
	case SNAP_UPTIME:
		ctl_status_duration(ctl_json_num_at(rec, f->path, 0), str, sizeof(str));
		fputs(str, out);
		break;
	case SNAP_LISTEN:
		print_listen(out, rec);
		break;
	case SNAP_WORKERS:
		print_workers(out, rec);
		break;
	case SNAP_EXPIRES:
		print_expires(out, rec, f->path);
		break;
	case SNAP_STR:
	case SNAP_TIME:
		ctl_json_str_at(rec, f->path, str, sizeof(str));
		fputs(str[0] != '\0' ? str : "-", out);
		break;
	default:
		print_count(out, rec, f->path);
	}
}

/* The shown field with the lowest ctl_key above after, or NULL. */
static const struct snap_field *
print_next(int after)
{
	const struct snap_field *f, *best = NULL;
	size_t i;

	for (i = 0; i < snapshot_nfields; i++) {
		f = &snapshot_fields[i];
		if (f->ctl_key > after && (best == NULL || f->ctl_key < best->ctl_key))
			best = f;
	}
	return best;
}

/* The table's pieces in ctl_key order, each its text with the value at
 * the '%'. A row whose first field may be missing (a group, or a field an
 * older supervisor did not write) is left out when it is. */
int
ctl_status_print(FILE *out, const char *rec)
{
	const struct snap_field *f;
	const char *pct;
	int row_start = 1, skip = 0;

	if (ctl_json_skip(rec) == NULL || *rec != '{' || ctl_json_get(rec, "pid") == NULL)
		return -1;
	for (f = print_next(0); f != NULL; f = print_next(f->ctl_key)) {
		if (row_start)
			skip = (f->flags & (SNAP_OPT | SNAP_TLS | SNAP_AGENT)) &&
			    ctl_json_path(rec, f->path) == NULL;
		row_start = f->ctl[0] != '\0' && f->ctl[strlen(f->ctl) - 1] == '\n';
		if (skip)
			continue;
		pct = strchr(f->ctl, '%');
		if (pct == NULL) {
			fputs(f->ctl, out);
			continue;
		}
		fwrite(f->ctl, 1, (size_t)(pct - f->ctl), out);
		print_value(out, rec, f);
		fputs(pct + 1, out);
	}
	return 0;
}
