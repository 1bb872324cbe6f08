/*
 * Configuration: defaults, the "key = value" file, --key=value flags and
 * validation. Pure: it reads files and resolves addresses but
 * starts nothing, so -t, reload and the unit tests share one code path.
 * Errors are written to err as "FILE:LINE: message" (or "--key: message").
 */
#ifndef PREFORKD_CONFIG_H
#define PREFORKD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "ipc/base/version.h"
#include "ipc/limits.h"
#include "server/site.h"
#include "server/proxy_proto.h"

#define CONFIG_MAX_LISTEN LIMITS_LISTEN
#define CONFIG_ERR_LEN 512
#define CONFIG_LINE_MAX 4096          /* longest accepted line, without its newline */
#define CONFIG_WORKERS_LIMIT LIMITS_WORKERS  /* hard cap for workers and max_workers */
#define CONFIG_WORKER_TIMEOUT_MIN_MS 1000  /* heartbeats every 250 ms at the floor */

struct config_listen {
	char text[64];                /* as written, e.g. "[::]:80" */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool proxy_protocol;          /* "ADDR proxy_protocol": PROXY header first */
	bool tls;                     /* "ADDR:PORT tls": a TLS listener */
	char cc[16];                  /* "cc=NAME": TCP congestion control, "" the kernel's */
};

enum status_format { STATUS_JSON, STATUS_TEXT, STATUS_OPENMETRICS };

struct config {
	char file[PATH_MAX];          /* "" when no -c */
	int nlisten;
	struct config_listen listen[CONFIG_MAX_LISTEN];
	char root[PATH_MAX];
	int workers;                  /* resolved: "auto" becomes online CPUs */
	bool workers_auto;
	int max_workers;
	char user[64];
	char group[64];
	char pidfile[PATH_MAX];
	bool daemon;
	char status_pipe[PATH_MAX];
	int status_interval_ms;
	enum status_format status_format;
	char access_log[PATH_MAX];    /* "-", "off" or a path */
	char error_log[PATH_MAX];     /* "" = stderr, or a path */
	int log_level;                /* enum log_level */
	char index[256];
	bool autoindex;
	bool dotfiles_allow;
	int keepalive_timeout_ms;
	int keepalive_requests;
	int header_timeout_ms;
	int send_timeout_ms;
	int graceful_timeout_ms;
	int worker_timeout_ms;
	int upgrade_timeout_ms;      /* binary upgrade: new supervisor must be ready within */
	long max_requests;
	long max_requests_jitter;
	int max_connections;
	int open_file_cache;           /* entries per worker, within the fd budget */
	int open_file_cache_inactive_ms; /* an entry not asked for this long is closed */
	int backlog;
	struct site_opts site;        /* static-site options: precompressed ... mime_types */
	/* Behind a balancer (parsed in config_scale.c). */
	int nproxy_from;
	struct proxy_cidr proxy_from[PROXY_FROM_MAX];
	bool agent_on;                /* agent_listen set */
	struct config_listen agent;   /* HAProxy agent-check address */
	/* TLS; the files are read by the supervisor (tls_conf_load()) */
	char tls_certificate[PATH_MAX];
	char tls_certificate_key[PATH_MAX];
	char tls_protocols[64];       /* "TLSv1.2 TLSv1.3" */
	char tls_ciphers[512];        /* TLS 1.2 cipher list, OpenSSL syntax */
	char tls_ciphersuites[256];   /* TLS 1.3 suites */
	int tls_ticket_key_rotation_ms;
	/* Internal to the parser: the next "listen" replaces the list instead of
	 * appending (true after defaults, at the start of a file, before flags). */
	bool listen_fresh;
};

/* Fills every key with its default. */
void config_defaults(struct config *c);
/* Sets one key from text. where names the source for errors ("FILE:LINE"
 * or "--key"). Returns 0, or -1 with err filled. A repeated "listen"
 * appends; the first listen from a source replaces the default. */
int config_set(struct config *c, const char *key, const char *value,
    const char *where, char *err, size_t errlen);
/* Reads a config file over c. Returns 0, or -1 with err filled. */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);
/* Checks what cannot be checked key by key: root is a readable directory,
 * users and groups exist, limits are consistent. */
int config_validate(const struct config *c, char *err, size_t errlen);
/* Parses "5s", "500ms", "2m", "1h" or a bare number of seconds. */
int config_parse_duration_ms(const char *s, int *out_ms);

/*
 * The whole command line: -c FILE, -t, -h/--help, -V/--version, --key=value
 * and --key value (a boolean key alone means on). Loads defaults, then the
 * file, then every flag (flags override the file wherever they appear; the
 * first --listen replaces the file's addresses, later ones append), then
 * validates. Relative paths (the file, root, pidfile, status_pipe, logs)
 * are made absolute against the working directory, so a daemon's chdir("/")
 * and a reload find the same files. argv[0] is skipped. Returns 0 (c ready, *test_only set when -t
 * was given; test_only may be NULL), 1 when usage or the version was printed
 * to stdout (exit 0), or -1 with err filled (c then holds a partial config:
 * build into a scratch struct on reload). Keeps no state: calling it again
 * with the same argv re-reads the file.
 */
int config_from_args(struct config *c, int argc, char **argv, int *test_only,
    char *err, size_t errlen);
/* Writes "127.0.0.1:8080" or "[::1]:8080" for an AF_INET/AF_INET6 address.
 * Returns 0, or -1 for another family or a buffer that is too small. */
int config_listen_format(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t buflen);

#endif
