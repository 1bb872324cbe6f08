#include "supervisor/config_scale.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <bsd/string.h>

#include "server/worker.h"
#include "supervisor/config.h"

#define SEP " \t"

int
config_proxy_from_parse(const char *v, struct proxy_cidr *list, int *n,
    char *msg, size_t msglen)
{
	struct proxy_cidr tmp[PROXY_FROM_MAX];
	char one[64];
	const char *p;
	size_t len;
	int k = 0;

	for (p = v; *(p += strspn(p, SEP ",")) != '\0'; p += len) {
		len = strcspn(p, SEP ",");
		if (k == PROXY_FROM_MAX || len >= sizeof(one)) {
			if (msg != NULL)
				snprintf(msg, msglen, k == PROXY_FROM_MAX ?
				    "at most %d networks" : "network too long", PROXY_FROM_MAX);
			return -1;
		}
		memcpy(one, p, len);
		one[len] = '\0';
		if (proxy_cidr_parse(one, &tmp[k]) == -1) {
			if (msg != NULL)
				snprintf(msg, msglen, "expected an address or ADDR/BITS, got \"%s\"", one);
			return -1;
		}
		k++;
	}
	if (k == 0) {
		if (msg != NULL)
			snprintf(msg, msglen, "expected at least one address or ADDR/BITS");
		return -1;
	}
	memcpy(list, tmp, (size_t)k * sizeof(tmp[0]));
	*n = k;
	return 0;
}

/* Port 0 in the configuration matches whatever port was bound. */
static bool
scale_addr_matches(const struct config_listen *cl, const struct sockaddr_storage *ss,
    socklen_t sl)
{
	struct sockaddr_storage want;

	if (cl->addrlen != sl || ss->ss_family != cl->addr.ss_family)
		return false;
	memcpy(&want, &cl->addr, sl);
	if (ss->ss_family == AF_INET && ((struct sockaddr_in *)&want)->sin_port == 0)
		((struct sockaddr_in *)&want)->sin_port = ((const struct sockaddr_in *)ss)->sin_port;
	if (ss->ss_family == AF_INET6 && ((struct sockaddr_in6 *)&want)->sin6_port == 0)
		((struct sockaddr_in6 *)&want)->sin6_port =
		    ((const struct sockaddr_in6 *)ss)->sin6_port;
	return memcmp(&want, ss, sl) == 0;
}

void
config_scale_params(const struct config *c, struct worker_params *p)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	p->nproxy_from = c->nproxy_from;
	memcpy(p->proxy_from, c->proxy_from, sizeof(p->proxy_from));
	for (int i = 0; i < p->nlisten; i++) {
		p->listen_proxy[i] = 0;
		sl = sizeof(ss);
		if (getsockname(p->listen_fds[i], (struct sockaddr *)&ss, &sl) == -1)
			continue;
		for (int k = 0; k < c->nlisten; k++)
			if (c->listen[k].proxy_protocol && scale_addr_matches(&c->listen[k], &ss, sl))
				p->listen_proxy[i] = 1;
	}
}
