/*
 * preforkctl: the operator's remote control (docs/ARCHITECTURE.md). It finds the
 * supervisor through its pidfile, sends commands down the control queue
 * /preforkd.<pid>.ctl (falling back to the equivalent signal where one
 * exists), and reads the status pipe for `status`.
 *
 * Exit codes (also in the usage text): 0 success / running, 1 failure or
 * a stale pidfile, 2 usage, 3 not running, 4 permission denied.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "ipc/base/clock.h"
#include "ipc/base/pidfile.h"
#include "ipc/base/util.h"
#include "ipc/base/version.h"
#include "ipc/limits.h"
#include "ipc/mqueue.h"
#include "ipc/msg.h"
#include "supervisor/ctl/ctl_openmetrics.h"
#include "supervisor/ctl/ctl_preforkd.h"
#include "supervisor/ctl/ctl_proc.h"
#include "supervisor/ctl/ctl_status.h"
#include "supervisor/ctl/ctl_upgrade.h"

#define CTL_DEFAULT_PIDFILE "/run/preforkd/preforkd.pid"
#define CTL_STATUS_WAIT_MS 3000
#define CTL_SEND_WAIT_MS 2000

enum ctl_exit {
	CTL_OK = 0,
	CTL_FAIL = 1,   /* also: stale pidfile (LSB status 1) */
	CTL_USAGE = 2,
	CTL_NOT_RUNNING = 3,
	CTL_PERM = 4,
	CTL_NO_QUEUE = -1, /* internal: the control queue does not exist */
};

struct ctl {
	const char *pidfile;
	const char *config;
	const char *status_pipe;
	const char *command;
	int nargs;
	char **args;
	char **argv;          /* argv as getopt_long saw it (ctl_mark_numbers) */
	bool json, openmetrics, watch, no_wait;
	long count;           /* --count: snapshots to show, 0 = unbounded */
	long timeout_s;       /* --timeout for stop/quit, -1 = not given */
	long graceful_s;      /* graceful_timeout of -c CONFIG, 0 = unknown */
	unsigned ctl_cmd;     /* what to send: control command, argument */
	int ctl_arg;
	int ctl_sig;          /* and the signal when there is no queue */
	pid_t pid;
	bool foreign;         /* alive but kill() says EPERM */
	char pidbuf[PATH_MAX];
	char pipebuf[PATH_MAX];
};

static const char ctl_usage_text[] =
"usage: preforkctl [-p PIDFILE | -c CONFIG] [-s STATUS_PIPE] COMMAND [ARGS]\n"
"\n"
"commands:\n"
"  status [--json | --openmetrics] [--watch [--count N]]\n"
"                     is it running; with a status pipe, a table of the\n"
"                     latest snapshot (--json: the raw line; --openmetrics:\n"
"                     OpenMetrics text; --watch: every snapshot until\n"
"                     interrupted or N were shown)\n"
"  reload             re-read the configuration, new generation of workers\n"
"  stop [--timeout S] [--no-wait]\n"
"                     graceful stop; waits up to S seconds for the exit\n"
"                     (60, or graceful_timeout of -c CONFIG + 10 if longer)\n"
"  quit [--timeout S] [--no-wait]\n"
"                     fast stop (like SIGINT); waits like stop\n"
"  reopen             reopen log files (after logrotate)\n"
"  upgrade            replace the running binary (like SIGUSR2); waits and\n"
"                     exits 0 once the new supervisor serves, 1 on rollback\n"
"  scale N|+N|-N      set the number of workers, or add / remove some\n"
"  drain              agent_listen answers \"drain\": the balancer sends no\n"
"                     new connections (serving goes on)\n"
"  undrain            agent_listen answers \"up\" again\n"
"  check              test the configuration of -c CONFIG like preforkd -t\n"
"                     (the addresses of a running server are not rebound)\n"
"\n"
"options:\n"
"  -p PIDFILE         the supervisor's pidfile (default " CTL_DEFAULT_PIDFILE ")\n"
"  -c CONFIG          take pidfile and status_pipe from this config file\n"
"                     (no pidfile key there: the default pidfile)\n"
"  -s STATUS_PIPE     the status FIFO (default: status_pipe of -c CONFIG)\n"
"  -h, --help         this text\n"
"  -V, --version      the version\n"
"\n"
"exit codes:\n"
"  0  success (status: running)\n"
"  1  failure; status: stale pidfile (process gone, pidfile left behind)\n"
"  2  usage error\n"
"  3  not running (no pidfile)\n"
"  4  permission denied (run as the server's user or root)\n";

static int
ctl_help(void)
{
	fputs(ctl_usage_text, stdout);
	return CTL_OK;
}

/* One line on stderr, "preforkctl: " fmt tail; returns code so callers can
 * `return ctl_error(..)`. */
static int __attribute__((format(printf, 3, 4)))
ctl_say(int code, const char *tail, const char *fmt, ...)
{
	va_list ap;

	fputs("preforkctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", tail);
	return code;
}

#define ctl_error(code, ...) ctl_say((code), "", __VA_ARGS__)
/* A usage error: exit 2, and a pointer to the help. */
#define ctl_usage(...) ctl_say(CTL_USAGE, " (see preforkctl -h)", __VA_ARGS__)

/* ---- command line ---------------------------------------------------- */

/* "-1" and "+2" are scale arguments, not options. */
static bool
ctl_is_number(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int
ctl_parse_long(const char *opt, const char *s, long min, long max, long *out)
{
	const char *why = NULL;
	long long v = strtonum(s, min, max, &why);

	if (why != NULL) {
		fprintf(stderr, "preforkctl: %s: expected a number %ld..%ld, got \"%s\"\n",
		    opt, min, max, s);
		return -1;
	}
	*out = (long)v;
	return 0;
}

enum { OPT_JSON = 256, OPT_OPENMETRICS, OPT_WATCH, OPT_NO_WAIT, OPT_COUNT, OPT_TIMEOUT };

static const struct option ctl_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "pidfile", required_argument, NULL, 'p' },
	{ "config", required_argument, NULL, 'c' },
	{ "status-pipe", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "openmetrics", no_argument, NULL, OPT_OPENMETRICS },
	{ "watch", no_argument, NULL, OPT_WATCH },
	{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

/* One option from getopt_long. Returns 0 to go on, or an exit code. */
static int
ctl_take_option(struct ctl *c, int opt, const char *arg)
{
	switch (opt) {
	case 'h':
		return ctl_help(), -1;
	case 'V':
		return printf("preforkctl %s\n", PREFORKD_VERSION) < 0 ? CTL_FAIL : -1;
	case 'p': c->pidfile = arg; return 0;
	case 'c': c->config = arg; return 0;
	case 's': c->status_pipe = arg; return 0;
	case OPT_JSON: c->json = true; return 0;
	case OPT_OPENMETRICS: c->openmetrics = true; return 0;
	case OPT_WATCH: c->watch = true; return 0;
	case OPT_NO_WAIT: c->no_wait = true; return 0;
	case OPT_COUNT:
		c->watch = true;
		return ctl_parse_long("--count", arg, 1, LONG_MAX, &c->count) == -1 ? CTL_USAGE : 0;
	case OPT_TIMEOUT:
		return ctl_parse_long("--timeout", arg, 0, 86400, &c->timeout_s) == -1 ?
		    CTL_USAGE : 0;
	}
	return CTL_USAGE;
}

/* getopt's own complaint, in preforkctl's words. */
static int
ctl_bad_option(char **argv, int opt)
{
	const char *a = argv[optind - 1];

	if (opt == ':' && optopt != 0 && strncmp(a, "--", 2) != 0)
		return ctl_usage("option -%c needs a value", optopt);
	if (opt == ':')
		return ctl_usage("option %s needs a value", a);
	if (optopt != 0 && strncmp(a, "--", 2) != 0)
		return ctl_usage("unknown option -%c", optopt);
	return ctl_usage("unknown option %s", a);
}

/* True for an option word whose value is the next word. */
static bool
ctl_takes_value(const char *a)
{
	static const char *const with_value[] = { "-p", "-c", "-s", "--pidfile",
	    "--config", "--status-pipe", "--count", "--timeout" };

	for (size_t i = 0; i < nitems(with_value); i++)
		if (strcmp(a, with_value[i]) == 0)
			return true;
	return false;
}

/*
 * getopt_long would read "-1" (scale -1) as option 1: a negative number
 * that is not an option's value is handed to it behind a \x01 mark, which
 * ctl_word takes off again. Returns the new argv, NULL when out of memory.
 */
static char **
ctl_mark_numbers(int argc, char **argv)
{
	char **v = calloc((size_t)argc + 1, sizeof(*v));

	for (int i = 0; v != NULL && i < argc; i++) {
		v[i] = argv[i];
		if (i > 0 && argv[i][0] == '-' && ctl_is_number(argv[i]) &&
		    !ctl_takes_value(argv[i - 1]) && asprintf(&v[i], "\x01%s", argv[i]) == -1)
			v[i] = NULL;
		if (v[i] == NULL) {
			free(v);
			return NULL;
		}
	}
	return v;
}

static const char *
ctl_word(const char *w)
{
	return w[0] == '\x01' ? w + 1 : w;
}

static int
ctl_parse_args(struct ctl *c, int argc, char **argv)
{
	int opt, r;

	c->args = calloc((size_t)argc + 1, sizeof(*c->args));
	if (c->args == NULL || (argv = c->argv = ctl_mark_numbers(argc, argv)) == NULL)
		return ctl_error(CTL_FAIL, "out of memory");
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "-:hVp:c:s:", ctl_options, NULL)) != -1) {
		if (opt == 1 && c->command == NULL)
			c->command = ctl_word(optarg);
		else if (opt == 1)
			c->args[c->nargs++] = (char *)ctl_word(optarg);
		else if (opt == '?' || opt == ':')
			return ctl_bad_option(argv, opt);
		else if ((r = ctl_take_option(c, opt, optarg)) != 0)
			return r == -1 ? CTL_OK : r;
	}
	if (c->command == NULL)
		return ctl_usage("no command given");
	if (c->pidfile != NULL && c->config != NULL)
		return ctl_usage("give -p PIDFILE or -c CONFIG, not both");
	return -1;
}

/* ---- finding the supervisor ------------------------------------------- */

/* Copies the value of "key=value" in the lines of text, or leaves dst. */
static void
ctl_path_value(const char *text, const char *key, char *dst, size_t size)
{
	size_t n = strlen(key);

	for (const char *l = text; l != NULL && *l != '\0'; l = strchr(l, '\n'), l += l != NULL) {
		if (strncmp(l, key, n) == 0 && l[n] == '=') {
			size_t len = strcspn(l + n + 1, "\n");

			if (len > 0 && len < size)
				strlcpy(dst, l + n + 1, len + 1);
			return;
		}
	}
}

/* The first line of preforkd's stderr, without its "preforkd: " if any. */
static const char *
ctl_first_line(char *err)
{
	err[strcspn(err, "\n")] = '\0';
	return strncmp(err, "preforkd: ", 10) == 0 ? err + 10 : err;
}

/*
 * Takes pidfile and status_pipe from -c CONFIG unless given directly; a
 * config without a pidfile key means the default pidfile (the init script
 * and the systemd unit pass that one). The file is read by preforkd itself
 * (--print-paths). A file that does not parse is an error for reload (the
 * server would refuse it too); other commands warn and use what preforkd
 * read without the refused lines.
 */
static int
ctl_load_config(struct ctl *c)
{
	static struct ctl_run r;
	char *args[] = { "preforkd", "--print-paths", "-c", (char *)c->config, NULL };
	char ms[32] = "0";

	if (c->config == NULL) {
		if (c->pidfile == NULL)
			c->pidfile = CTL_DEFAULT_PIDFILE;
		return -1;
	}
	if (ctl_preforkd_run(args, &r) == -1)
		return ctl_error(CTL_FAIL, "cannot run preforkd: %s", strerror(errno));
	if (r.status != 0 && r.status != 2)
		return ctl_error(CTL_FAIL, "%s", ctl_first_line(r.err));
	if (r.status == 2 && c->ctl_cmd == CTL_RELOAD)
		return ctl_error(CTL_FAIL, "%s", ctl_first_line(r.err));
	if (r.status == 2)
		fprintf(stderr, "preforkctl: warning: %s\n", ctl_first_line(r.err));
	strlcpy(c->pidbuf, CTL_DEFAULT_PIDFILE, sizeof(c->pidbuf));
	ctl_path_value(r.out, "pidfile", c->pidbuf, sizeof(c->pidbuf));
	c->pidfile = c->pidbuf;
	if (c->status_pipe == NULL) {
		ctl_path_value(r.out, "status_pipe", c->pipebuf, sizeof(c->pipebuf));
		c->status_pipe = c->pipebuf[0] != '\0' ? c->pipebuf : NULL;
	}
	ctl_path_value(r.out, "graceful_timeout_ms", ms, sizeof(ms));
	c->graceful_s = (atol(ms) + 999) / 1000;
	return -1;
}

/* 1 alive, 0 gone, -1 alive but not ours to signal. */
static int
ctl_alive(pid_t pid)
{
	if (kill(pid, 0) == -1)
		return errno == EPERM ? -1 : 0;
	return ctl_proc_is_zombie(pid) ? 0 : 1;
}

/* While a binary upgrade runs, the serving supervisor's pidfile is
 * PIDFILE.oldbin until the new one is ready and writes PIDFILE. */
static int
ctl_read_oldbin(const char *pidfile, pid_t *pid)
{
	char path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s.oldbin", pidfile);
	return pidfile_read(path, pid) == 0 && ctl_alive(*pid) == 1 ? 0 : -1;
}

/* Sets c->pid to a live supervisor. Returns -1 when found, else the exit
 * code after saying why (on stdout for status, stderr otherwise). */
static int
ctl_find(struct ctl *c)
{
	FILE *out = strcmp(c->command, "status") == 0 ? stdout : stderr;
	const char *pre = out == stderr ? "preforkctl: " : "";
	char what[320];
	int r;

	r = pidfile_read(c->pidfile, &c->pid);
	if (r == -1)
		r = ctl_read_oldbin(c->pidfile, &c->pid);
	if (r == -1) {
		fprintf(out, "%spreforkd is not running (no pidfile %s)\n", pre, c->pidfile);
		return CTL_NOT_RUNNING;
	}
	if (r == -2 && errno == EACCES)
		return ctl_error(CTL_PERM, "permission denied: cannot read %s", c->pidfile);
	if (r == -2)
		return ctl_error(CTL_FAIL, "pidfile %s holds no pid: %s", c->pidfile,
		    strerror(errno));
	if ((r = ctl_alive(c->pid)) == 0) {
		fprintf(out, "%spreforkd is not running: stale pidfile %s (pid %d)\n",
		    pre, c->pidfile, (int)c->pid);
		return CTL_FAIL;
	}
	if (!ctl_proc_is_preforkd(c->pid, what, sizeof(what))) {
		fprintf(out, "%spreforkd is not running: stale pidfile %s (pid %d is %s; "
		    "not signalled)\n", pre, c->pidfile, (int)c->pid, what);
		return CTL_FAIL;
	}
	c->foreign = r == -1;
	return -1;
}

static int
ctl_permission(const struct ctl *c)
{
	return ctl_error(CTL_PERM,
	    "permission denied: cannot control pid %d (run as its user or root)",
	    (int)c->pid);
}

/* ---- sending ------------------------------------------------------------ */

/* Sends one control message. Returns CTL_OK, CTL_NO_QUEUE, or an exit
 * code after saying why. A full queue is retried for a while. */
static int
ctl_send(const struct ctl *c, unsigned cmd, int arg)
{
	struct msg m;
	char name[64];
	int waited = 0;
	mqd_t q;

	/* Not always the usual name: another user may have squatted it. */
	if (mqueue_find(name, sizeof(name), c->pid, "ctl") == -1)
		return ctl_error(CTL_FAIL, "queue name too long");
	if ((q = mqueue_open_send(name)) == (mqd_t)-1) {
		if (errno == ENOENT)
			return CTL_NO_QUEUE;
		if (errno == EACCES || errno == EPERM)
			return ctl_permission(c);
		return ctl_error(CTL_FAIL, "control queue %s: %s", name, strerror(errno));
	}
	memset(&m, 0, sizeof(m));
	m.u.control.command = cmd;
	m.u.control.arg = arg;
	while (mqueue_send(q, &m, MSG_CONTROL) == -1) {
		if (errno != EAGAIN || waited >= CTL_SEND_WAIT_MS) {
			mq_close(q);
			return ctl_error(CTL_FAIL, "control queue %s: %s", name,
			    errno == EAGAIN ? "full, the supervisor is not reading it" :
			    strerror(errno));
		}
		usleep(20 * 1000);
		waited += 20;
	}
	mq_close(q);
	return CTL_OK;
}

/* The queue first; the signal when there is no queue (sig 0: none). */
static int
ctl_deliver(const struct ctl *c, unsigned cmd, int arg, int sig)
{
	int r;

	if (c->foreign)
		return ctl_permission(c);
	if ((r = ctl_send(c, cmd, arg)) != CTL_NO_QUEUE)
		return r;
	if (sig == 0)
		return ctl_error(CTL_FAIL, "no control queue /preforkd.%d.ctl for pid %d",
		    (int)c->pid, (int)c->pid);
	if (kill(c->pid, sig) == -1)
		return errno == EPERM ? ctl_permission(c) :
		    ctl_error(CTL_FAIL, "kill %d: %s", (int)c->pid, strerror(errno));
	return CTL_OK;
}

/* ---- commands ------------------------------------------------------------ */

/* Sends the command of a table entry (see ctl_commands). */
static int
ctl_cmd_send(struct ctl *c)
{
	return ctl_deliver(c, c->ctl_cmd, c->ctl_arg, c->ctl_sig);
}

static int
ctl_cmd_stop(struct ctl *c)
{
	int64_t deadline;
	int r;

	if ((r = ctl_cmd_send(c)) != CTL_OK || c->no_wait)
		return r;
	/* The server may take graceful_timeout to finish; do not give up first. */
	if (c->timeout_s == -1)
		c->timeout_s = c->graceful_s + 10 > 60 ? c->graceful_s + 10 : 60;
	deadline = clock_mono_ms() + c->timeout_s * 1000L;
	while (ctl_alive(c->pid) != 0) {
		if (clock_mono_ms() >= deadline)
			return ctl_error(CTL_FAIL, "preforkd (pid %d) still running after %lds",
			    (int)c->pid, c->timeout_s);
		usleep(50 * 1000);
	}
	return CTL_OK;
}

/* The answer comes as a signal (ctl_upgrade.h), so the queue is required:
 * a bare USR2 could not tell us the outcome. */
static int
ctl_cmd_upgrade(struct ctl *c)
{
	sigset_t set;
	int r;

	if (ctl_upgrade_prepare(&set) == -1)
		return ctl_error(CTL_FAIL, "sigprocmask: %s", strerror(errno));
	if ((r = ctl_deliver(c, CTL_UPGRADE, (int)getpid(), 0)) != CTL_OK)
		return r;
	return ctl_upgrade_wait(&set, c->pid, c->pidfile) == 0 ? CTL_OK : CTL_FAIL;
}

/* "N" sets the count, "+N" / "-N" change it. Returns -1 when c->ctl_cmd
 * and c->ctl_arg are set, else the usage exit code after saying why. */
static int
ctl_scale_arg(struct ctl *c)
{
	const char *a = c->nargs == 1 ? c->args[0] : NULL;
	long n = 0;

	if (a == NULL)
		return ctl_usage("scale needs one argument: N, +N or -N");
	if (!ctl_is_number(a))
		return ctl_usage("scale: expected N, +N or -N, got \"%s\"", a);
	if (a[0] == '+' || a[0] == '-') {
		if (ctl_parse_long("scale", a, -LIMITS_WORKERS, LIMITS_WORKERS, &n)
		    == -1)
			return CTL_USAGE;
		if (n == 0)
			return ctl_usage("scale: %s changes nothing", a);
		c->ctl_cmd = CTL_SCALE_REL;
	} else {
		if (ctl_parse_long("scale", a, 1, LIMITS_WORKERS, &n) == -1)
			return CTL_USAGE;
		c->ctl_cmd = CTL_SCALE_ABS;
	}
	c->ctl_arg = (int)n;
	return -1;
}

/* preforkd -t, run by preforkd: the same checks and messages (the
 * addresses of a running server are not bound again, they are its own, so
 * "check, then reload" works). */
static int
ctl_cmd_check(struct ctl *c)
{
	static struct ctl_run r;
	char *args[] = { "preforkd", "-t", "-c", (char *)c->config, NULL };

	if (ctl_preforkd_run(args, &r) == -1)
		return ctl_error(CTL_FAIL, "cannot run preforkd: %s", strerror(errno));
	if (r.status != 0)
		return ctl_error(CTL_FAIL, "%s", ctl_first_line(r.err));
	fputs(r.out, stdout);
	return CTL_OK;
}

/* ---- status ---------------------------------------------------------------- */

static int
ctl_show(const struct ctl *c, const char *rec, bool clear)
{
	if (clear)
		fputs("\033[H\033[2J", stdout);
	if (c->openmetrics) {
		if (ctl_openmetrics_print(stdout, rec) == -1)
			return ctl_error(CTL_FAIL, "%s: a snapshot in status_format = text "
			    "cannot be shown as OpenMetrics (use json or openmetrics)",
			    c->status_pipe);
		fflush(stdout);
		return CTL_OK;
	}
	if (c->json || ctl_status_print(stdout, rec) == -1)
		printf("%s\n", rec);
	if (!c->json && rec[0] != '{')
		printf("\n"); /* keep text-format records apart */
	fflush(stdout);
	return CTL_OK;
}

/* status --watch: every snapshot as it comes, until the supervisor goes
 * away, the reader is interrupted, or --count snapshots were shown. */
static int
ctl_watch(struct ctl *c, struct ctl_status_reader *r)
{
	bool clear = !c->json && !c->openmetrics && isatty(STDOUT_FILENO);
	const char *rec;
	long shown = 0;
	int got, rc;

	while (c->count == 0 || shown < c->count) {
		got = ctl_status_next(r, CTL_STATUS_WAIT_MS, &rec);
		if (got == -1)
			return ctl_error(CTL_FAIL, "%s: %s", c->status_pipe, strerror(errno));
		if (got == 1) {
			if ((rc = ctl_show(c, rec, clear)) != CTL_OK)
				return rc;
			shown++;
		} else if (ctl_alive(c->pid) == 0) {
			printf("preforkd is not running (pid %d exited)\n", (int)c->pid);
			return CTL_NOT_RUNNING;
		}
	}
	return CTL_OK;
}

/* The pipe gave nothing, but the process runs: say so, and why no table. */
static int
ctl_status_fallback(const struct ctl *c, const char *why)
{
	if (c->json || c->openmetrics || c->watch)
		return ctl_error(CTL_FAIL, "%s: %s", c->status_pipe, why);
	fprintf(stderr, "preforkctl: %s: %s\n", c->status_pipe, why);
	printf("preforkd is running (pid %d)\n", (int)c->pid);
	return CTL_OK;
}

static int
ctl_cmd_status(struct ctl *c)
{
	struct ctl_status_reader r;
	const char *rec;
	int got, rc;

	if (c->status_pipe == NULL) {
		if (c->json || c->openmetrics || c->watch)
			return ctl_error(CTL_FAIL,
			    "no status pipe known (status_pipe in -c CONFIG, or -s PATH)");
		printf("preforkd is running (pid %d)\n", (int)c->pid);
		return CTL_OK;
	}
	if (ctl_status_open(&r, c->status_pipe) == -1)
		return ctl_status_fallback(c, errno == EINVAL ? "not a FIFO" : strerror(errno));
	if (c->watch) {
		rc = ctl_watch(c, &r);
	} else if ((got = ctl_status_next(&r, CTL_STATUS_WAIT_MS, &rec)) == 1) {
		rc = ctl_show(c, rec, false);
	} else {
		rc = ctl_status_fallback(c, got == 0 ? "no snapshot within 3s" :
		    strerror(errno));
	}
	ctl_status_close(&r);
	return rc;
}

/* ---- main ---------------------------------------------------------------- */

static int ctl_cmd_status(struct ctl *c);

static const struct ctl_command {
	const char *name;
	int (*run)(struct ctl *);
	unsigned cmd;   /* control message */
	int sig;        /* the signal that does the same, 0 = none */
} ctl_commands[] = {
	{ "status", ctl_cmd_status, 0, 0 },
	{ "reload", ctl_cmd_send, CTL_RELOAD, SIGHUP },
	{ "reopen", ctl_cmd_send, CTL_REOPEN, SIGUSR1 },
	{ "upgrade", ctl_cmd_upgrade, CTL_UPGRADE, 0 },
	{ "drain", ctl_cmd_send, CTL_DRAIN, 0 },
	{ "undrain", ctl_cmd_send, CTL_UNDRAIN, 0 },
	{ "stop", ctl_cmd_stop, CTL_STOP, SIGTERM },
	{ "quit", ctl_cmd_stop, CTL_QUIT, SIGINT },
	{ "scale", ctl_cmd_send, 0, 0 },
	{ "check", ctl_cmd_check, 0, 0 },
};

/* Everything that can be wrong with the command line is reported before
 * the server is looked for, so a usage error is always exit 2. */
static int
ctl_check_usage(struct ctl *c, const struct ctl_command *k)
{
	bool is_status = k->run == ctl_cmd_status, is_stop = k->run == ctl_cmd_stop;

	if (!is_status && (c->json || c->openmetrics || c->watch))
		return ctl_usage("--json, --openmetrics, --watch and --count are options of status");
	if (c->json && c->openmetrics)
		return ctl_usage("give --json or --openmetrics, not both");
	if (!is_stop && (c->no_wait || c->timeout_s != -1))
		return ctl_usage("--timeout and --no-wait are options of stop and quit");
	if (strcmp(k->name, "scale") == 0)
		return ctl_scale_arg(c);
	if (c->nargs > 0)
		return ctl_usage("%s takes no arguments", k->name);
	if (k->run == ctl_cmd_check && c->config == NULL)
		return ctl_usage("check needs -c CONFIG");
	return -1;
}

static int
ctl_run(struct ctl *c)
{
	const struct ctl_command *k = NULL;
	size_t i;
	int r;

	for (i = 0; i < nitems(ctl_commands); i++)
		if (strcmp(c->command, ctl_commands[i].name) == 0)
			k = &ctl_commands[i];
	if (k == NULL)
		return ctl_usage("unknown command \"%s\"", c->command);
	c->ctl_cmd = k->cmd;
	c->ctl_sig = k->sig;
	if ((r = ctl_check_usage(c, k)) != -1)
		return r;
	if (k->run == ctl_cmd_check)
		return ctl_cmd_check(c);
	if ((r = ctl_load_config(c)) != -1 || (r = ctl_find(c)) != -1)
		return r;
	return k->run(c);
}

int
main(int argc, char **argv)
{
	static struct ctl c = { .timeout_s = -1 };
	int r;

	if ((r = ctl_parse_args(&c, argc, argv)) == -1)
		r = ctl_run(&c);
	for (int i = 0; c.argv != NULL && i < argc; i++)
		if (c.argv[i] != argv[i])
			free(c.argv[i]);
	free(c.argv);
	free(c.args);
	return r;
}
