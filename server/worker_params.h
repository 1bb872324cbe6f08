/*
 * What a worker is told at fork: the listeners, the site and the limits.
 * The supervisor fills it from its config, so server/ never sees the
 * config struct. Apart from worker.h so that conn.h and response.h, which
 * read it, need not include the worker's entry point.
 */
#ifndef PREFORKD_WORKER_PARAMS_H
#define PREFORKD_WORKER_PARAMS_H

#include <limits.h>
#include <mqueue.h>

#include "server/proxy_proto.h"
#include "server/site.h"

#define WORKER_MAX_LISTEN 16

struct ssl_ctx_st;

struct worker_params {
	int slot;
	unsigned generation;
	int listen_fds[WORKER_MAX_LISTEN];
	int nlisten;
	unsigned char listen_proxy[WORKER_MAX_LISTEN]; /* expects a PROXY header */
	int nproxy_from;
	struct proxy_cidr proxy_from[PROXY_FROM_MAX];  /* who may send one */
	unsigned char listen_tls[WORKER_MAX_LISTEN]; /* 1: listen_fds[i] speaks TLS */
	struct ssl_ctx_st *tls_ctx;  /* built by the supervisor before fork; NULL without TLS */
	int channel_fd;      /* worker's end of the channel */
	mqd_t stats_mq;      /* opened for non-blocking send, or (mqd_t)-1 */

	char root[PATH_MAX];
	char index[256];     /* "" = no index file */
	int autoindex;
	int dotfiles_allow;  /* 0: deny dotfiles except /.well-known/ */
	char access_log[PATH_MAX]; /* "off", "-" (stdout) or a path */
	struct site_opts site;   /* static-site options: server/site.h */
	int access_log_fd;   /* the path, opened by the supervisor; -1 = none */

	int keepalive_timeout_ms;
	int keepalive_requests;  /* 0 = unlimited */
	int header_timeout_ms;
	int send_timeout_ms;
	int max_connections;
	int open_file_cache;     /* entries asked for: fdlimit_file_cache() */
	int open_file_cache_inactive_ms;
	long max_requests;       /* 0 = never recycle; jitter already applied */

	int heartbeat_interval_ms;
	int stats_interval_ms;
};

#endif
