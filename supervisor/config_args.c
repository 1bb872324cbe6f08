/*
 * The command line: -c FILE, -t, -h, -V and --key[=value]. Two passes
 * over argv: the first finds the file and checks every option's syntax,
 * the second applies each --key after the file, so flags win wherever
 * they stand.
 */
#include "supervisor/config_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

enum config_arg_kind { ARG_CONFIG, ARG_TEST, ARG_HELP, ARG_VERSION, ARG_KEY };

/* One command-line option, as config_arg_next() found it. */
struct config_arg {
	enum config_arg_kind kind;
	char name[64];                /* ARG_KEY: the key as written, no "--" */
	const char *value;
	char where[80];               /* "--name", for errors */
};

/*
 * "--name=value", or "--name value"; a boolean key may stand alone (on),
 * and then takes the next argument only when that is a boolean word.
 */
static int
config_arg_key(int argc, char **argv, int *i, struct config_arg *a, char *err,
    size_t errlen)
{
	const char *s = argv[*i] + 2, *eq = strchr(s, '=');
	const struct config_key *k;
	size_t n = eq != NULL ? (size_t)(eq - s) : strlen(s);
	char q[CONFIG_QUOTE_LEN];
	bool b;

	a->kind = ARG_KEY;
	if (n < sizeof(a->name)) {
		memcpy(a->name, s, n);
		a->name[n] = '\0';
	}
	if (n >= sizeof(a->name) || (k = config_key_find(a->name)) == NULL) {
		config_errf(err, errlen, "unknown option %s", config_quote(argv[*i], q, sizeof(q)));
		return -1;
	}
	snprintf(a->where, sizeof(a->where), "--%s", a->name);
	if (eq != NULL)
		a->value = eq + 1;
	else if (config_key_is_bool(k)) {
		a->value = "on";
		if (*i + 1 < argc && config_parse_bool(argv[*i + 1], &b) == 0)
			a->value = argv[++*i];
	} else if (*i + 1 < argc)
		a->value = argv[++*i];
	else {
		config_errf(err, errlen, "%s: missing value", a->where);
		return -1;
	}
	return 0;
}

/* The next option at argv[*i]; returns 1, 0 at the end, or -1. */
static int
config_arg_next(int argc, char **argv, int *i, struct config_arg *a, char *err,
    size_t errlen)
{
	char q[CONFIG_QUOTE_LEN];
	const char *s;

	if (++*i >= argc)
		return 0;
	s = argv[*i];
	memset(a, 0, sizeof(*a));
	if (strcmp(s, "-t") == 0 || strcmp(s, "--test") == 0)
		a->kind = ARG_TEST;
	else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)
		a->kind = ARG_HELP;
	else if (strcmp(s, "-V") == 0 || strcmp(s, "--version") == 0)
		a->kind = ARG_VERSION;
	else if (strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0) {
		if (*i + 1 >= argc) {
			config_errf(err, errlen, "%s: missing file name", s);
			return -1;
		}
		a->kind = ARG_CONFIG;
		a->value = argv[++*i];
	} else if (strncmp(s, "-c", 2) == 0 || strncmp(s, "--config=", 9) == 0) {
		a->kind = ARG_CONFIG;
		a->value = s[1] == 'c' ? s + 2 : s + 9;
	} else if (strncmp(s, "--", 2) == 0 && s[2] != '\0')
		return config_arg_key(argc, argv, i, a, err, errlen) == 0 ? 1 : -1;
	else {
		config_errf(err, errlen, "%s %s", s[0] == '-' ? "unknown option" :
		    "unexpected argument", config_quote(s, q, sizeof(q)));
		return -1;
	}
	return 1;
}

static void
config_usage(void)
{
	size_t i;

	printf("usage: preforkd [-c FILE] [-t] [--key=value ...]\n"
	    "  -c, --config FILE  read the configuration file FILE\n"
	    "  -t, --test         check the configuration and exit\n"
	    "  -h, --help         show this help\n"
	    "  -V, --version      show the version\n"
	    "keys (flags override the file; dashes or underscores):\n");
	for (i = 0; i < config_nkeys; i++)
		printf("  --%s=%s\n", config_keys[i].name, config_keys[i].help);
}

/* First pass: finds -c, -t, -h and -V, and checks every option's syntax. */
static int
config_args_scan(int argc, char **argv, const char **file, int *test_only,
    char *err, size_t errlen)
{
	struct config_arg a;
	bool help = false, version = false;
	int i = 0, r;

	while ((r = config_arg_next(argc, argv, &i, &a, err, errlen)) == 1) {
		if (a.kind == ARG_CONFIG)
			*file = a.value;
		else if (a.kind == ARG_TEST)
			*test_only = 1;
		else if (a.kind == ARG_HELP)
			help = true;
		else if (a.kind == ARG_VERSION)
			version = true;
	}
	if (r == -1)
		return -1;
	if (help)
		config_usage();
	else if (version)
		printf("preforkd %s\n", PREFORKD_VERSION);
	return help || version ? 1 : 0;
}

/* Second pass: applies every --key, after the file. */
static int
config_args_apply(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	struct config_arg a;
	int i = 0, r;

	c->listen_fresh = true;
	while ((r = config_arg_next(argc, argv, &i, &a, err, errlen)) == 1)
		if (a.kind == ARG_KEY &&
		    config_set(c, a.name, a.value, a.where, err, errlen) == -1)
			return -1;
	return r;
}

/*
 * Makes a relative path absolute against the working directory; root goes
 * through realpath when it exists. Left alone when it would not fit.
 */
static void
config_absolute(char *path, size_t size, bool real)
{
	char cwd[PATH_MAX], buf[PATH_MAX];

	if (path[0] == '\0' || path[0] == '/')
		return;
	if (real && realpath(path, buf) != NULL) {
		strlcpy(path, buf, size);
		return;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    (size_t)snprintf(buf, sizeof(buf), "%s/%s", cwd, path) >= sizeof(buf) ||
	    strlen(buf) >= size)
		return;
	strlcpy(path, buf, size);
}

/* So a daemon's chdir("/") and a later reload find the same files. */
static void
config_absolute_paths(struct config *c)
{
	config_absolute(c->file, sizeof(c->file), false);
	config_absolute(c->root, sizeof(c->root), true);
	config_absolute(c->pidfile, sizeof(c->pidfile), false);
	config_absolute(c->status_pipe, sizeof(c->status_pipe), false);
	config_absolute(c->error_log, sizeof(c->error_log), false);
	config_absolute(c->site.mime_types, sizeof(c->site.mime_types), false);
	config_absolute(c->tls_certificate, sizeof(c->tls_certificate), false);
	config_absolute(c->tls_certificate_key, sizeof(c->tls_certificate_key), false);
	if (strcmp(c->access_log, "-") != 0 && strcmp(c->access_log, "off") != 0)
		config_absolute(c->access_log, sizeof(c->access_log), false);
}

int
config_from_args(struct config *c, int argc, char **argv, int *test_only,
    char *err, size_t errlen)
{
	const char *file = NULL;
	int t = 0, r;

	if (test_only != NULL)
		*test_only = 0;
	if ((r = config_args_scan(argc, argv, &file, &t, err, errlen)) != 0)
		return r;
	config_defaults(c);
	if (file != NULL && config_load_file(c, file, err, errlen) == -1)
		return -1;
	if (config_args_apply(c, argc, argv, err, errlen) == -1)
		return -1;
	config_absolute_paths(c);
	if (test_only != NULL)
		*test_only = t;
	return config_validate(c, err, errlen);
}
