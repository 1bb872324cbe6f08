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

static long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
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
	long deadline = mono_ms() + timeout_ms, left;
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
		if ((left = deadline - mono_ms()) <= 0)
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

/* Only from a supervisor that knows binary upgrades (DESIGN §11): when the
 * running binary started, how many upgrades it continues from. */
static void
print_upgrades(FILE *out, const char *s)
{
	char started[40];

	if (ctl_json_get(s, "started") == NULL)
		return;
	ctl_json_str_at(s, "started", started, sizeof(started));
	fprintf(out, "started:      %s\nupgrades:     ", started);
	print_count(out, s, "upgrades");
	fputs(", ", out);
	print_count(out, s, "upgrades_failed");
	fputs(" failed\n", out);
}

static void
print_summary(FILE *out, const char *s)
{
	static const char *cls[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
	char up[32], path[32];
	size_t i;

	ctl_status_duration(ctl_json_num_at(s, "uptime_s", 0), up, sizeof(up));
	fputs("pid:          ", out); print_count(out, s, "pid");
	fprintf(out, "\nuptime:       %s\ngeneration:   ", up);
	print_count(out, s, "generation");
	fputs("\nlisten:      ", out); print_listen(out, s);
	fputs("\nworkers:      ", out); print_count(out, s, "workers_running");
	fputs(" running / ", out); print_count(out, s, "workers_target");
	fputs(" target\nrequests:     ", out); print_count(out, s, "totals.requests");
	fputs("\nconnections:  ", out);
	print_count(out, s, "totals.connections_accepted");
	fputs(" accepted, ", out); print_count(out, s, "totals.connections_active");
	fputs(" active\nresponses:   ", out);
	for (i = 0; i < sizeof(cls) / sizeof(cls[0]); i++) {
		snprintf(path, sizeof(path), "totals.responses.%s", cls[i]);
		fprintf(out, " %s ", cls[i]);
		print_count(out, s, path);
	}
	fputs("\nbytes:        in ", out); print_count(out, s, "totals.bytes_in");
	fputs(", out ", out); print_count(out, s, "totals.bytes_out");
	fputs("\nreloads:      ", out); print_count(out, s, "reloads");
	fputs("\nexits:        ", out); print_count(out, s, "worker_exits_unexpected");
	fputs(" unexpected, ", out); print_count(out, s, "workers_hung_killed");
	fputs(" hung and killed\n", out);
	print_upgrades(out, s);
}

/* The tls object (DESIGN §12), when there is one: what an operator checks
 * before a certificate runs out. */
static void
print_tls(FILE *out, const char *s)
{
	const char *t = ctl_json_get(s, "tls"), *c;
	char file[1024], when[32], left[32];
	double in;

	if (t == NULL)
		return;
	fputs("tls:          ", out); print_count(out, t, "handshakes");
	fputs(" handshakes, ", out); print_count(out, t, "resumed");
	fputs(" resumed, ", out); print_count(out, t, "handshake_errors");
	fputs(" failed\n", out);
	for (c = ctl_json_first(ctl_json_get(t, "certificates")); c != NULL; c = ctl_json_next(c)) {
		ctl_json_str_at(c, "file", file, sizeof(file));
		ctl_json_str_at(c, "not_after", when, sizeof(when));
		in = ctl_json_num_at(c, "expires_in_s", 0);
		ctl_status_duration(in > 0 ? in : 0, left, sizeof(left));
		fprintf(out, "certificate:  %s expires %s (%s%s)\n", file, when,
		    in > 0 ? "in " : "", in > 0 ? left : "EXPIRED");
	}
}

static void
print_worker(FILE *out, const char *w)
{
	char state[16];
	double age = ctl_json_num_at(w, "heartbeat_age_ms", -1);

	ctl_json_str_at(w, "state", state, sizeof(state));
	fprintf(out, "%4.0f %8.0f %4.0f %-9s %10.0f %7.0f ",
	    ctl_json_num_at(w, "slot", -1), ctl_json_num_at(w, "pid", -1),
	    ctl_json_num_at(w, "generation", -1), state[0] ? state : "-",
	    ctl_json_num_at(w, "requests", 0),
	    ctl_json_num_at(w, "connections_active", 0));
	if (age < 0)
		fputs("        -\n", out);
	else
		fprintf(out, "%7.0fms\n", age);
}

int
ctl_status_print(FILE *out, const char *rec)
{
	const char *w, *end;

	end = ctl_json_skip(rec);
	if (end == NULL || *rec != '{' || ctl_json_get(rec, "pid") == NULL)
		return -1;
	print_summary(out, rec);
	print_tls(out, rec);
	fputs("\nSLOT      PID  GEN STATE       REQUESTS  ACTIVE HEARTBEAT\n", out);
	for (w = ctl_json_first(ctl_json_get(rec, "workers")); w != NULL;
	    w = ctl_json_next(w))
		print_worker(out, w);
	return 0;
}
