/*
 * Listening sockets, bound by the supervisor before forking and inherited by
 * every worker ("Processes" in docs/ARCHITECTURE.md). Sockets are
 * non-blocking (workers accept from an epoll loop) and close-on-exec
 * (nothing should inherit them through exec; fork-only workers get them
 * regardless).
 */
#ifndef PREFORKD_LISTEN_H
#define PREFORKD_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include "supervisor/config.h"

#define LISTEN_ADDR_LEN 64
#define LISTEN_CC_DEFAULT "/proc/sys/net/ipv4/tcp_congestion_control"

/* Binds and listens on cl's address (SO_REUSEADDR, IPV6_V6ONLY for IPv6).
 * Returns the fd, or -1 with errno set and err filled
 * ("listen 127.0.0.1:80: bind: ..."). */
int listen_open(const struct config_listen *cl, int backlog, char *err, size_t errlen);
/* Sets the TCP congestion control (TCP_CONGESTION) that connections
 * accepted on fd from now on inherit. 0, or -1 with errno (ENOENT: this
 * kernel has no such algorithm; EPERM: not allowed to this user). */
int listen_set_cc(int fd, const char *name);
/* The kernel's default congestion control (LISTEN_CC_DEFAULT) in buf, or -1. */
int listen_default_cc(char *buf, size_t len);
/* err = "listen ADDR cc=NAME: why" for errno e from listen_set_cc. */
void listen_cc_error(const struct config_listen *cl, int e, char *err, size_t errlen);
/* The address fd is actually bound to (port 0 resolved), formatted. */
int listen_actual(int fd, char *buf, size_t len);
/* True when a and b name the same configured listener: same text and same
 * resolved address (so a reload keeps its socket). */
int listen_same(const struct config_listen *a, const struct config_listen *b);

#endif
