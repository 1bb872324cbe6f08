/*
 * The configuration for running behind a balancer, parsed apart from
 * config.c: proxy_protocol_from, and which listeners expect a PROXY header.
 */
#ifndef PREFORKD_CONFIG_SCALE_H
#define PREFORKD_CONFIG_SCALE_H

#include <stdbool.h>
#include <stddef.h>

#include "server/proxy_proto.h"

#define CONFIG_PROXY_FROM_DEFAULT "127.0.0.1/8, ::1"

/* "CIDR, CIDR ..." (commas and/or spaces) replacing list[0..*n). 0, or -1
 * with msg (which may be NULL) and the list untouched. */
int config_proxy_from_parse(const char *v, struct proxy_cidr *list, int *n,
    char *msg, size_t msglen);

struct config;
struct worker_params;
/* Fills p's PROXY protocol fields from c: a listener expects the header
 * when its bound address matches a "listen ... proxy_protocol" line. */
void config_scale_params(const struct config *c, struct worker_params *p);

#endif
