/*
 * Ticket keys never touch disk: they are drawn with getrandom(), kept in
 * the supervisor's memory, inherited by every fork and sent down the
 * channels on rotation. A reload keeps them, so a ticket from the old
 * generation resumes on the new one.
 */
#include "supervisor/tls_keys.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <bsd/string.h>

#include "server/tls.h"

int
tls_conf_wanted(const struct config *c)
{
	for (int i = 0; i < c->nlisten; i++)
		if (c->listen[i].tls)
			return 1;
	return 0;
}

int
tls_conf_load(const struct config *c, struct ssl_ctx_st **ctx, time_t *not_after,
    char *err, size_t errlen)
{
	struct tls_settings ts = {
		.certificate = c->tls_certificate, .key = c->tls_certificate_key,
		.protocols = c->tls_protocols, .ciphers = c->tls_ciphers,
		.ciphersuites = c->tls_ciphersuites,
	};

	*ctx = NULL;
	*not_after = (time_t)-1;
	/* A certificate with no TLS listener is still checked: -t should not
	 * pass a pair that breaks the day a listener gets "tls". */
	if (!tls_conf_wanted(c) && c->tls_certificate[0] == '\0')
		return 0;
	if ((*ctx = tls_ctx_new(&ts, err, errlen)) == NULL)
		return -1;
	*not_after = tls_ctx_not_after(*ctx);
	return 0;
}

void
tls_conf_commit(struct tls_state *st, const struct config *c,
    struct ssl_ctx_st *ctx, time_t not_after)
{
	if (st->ctx != NULL)
		SSL_CTX_free(st->ctx);
	st->ctx = ctx;
	st->not_after = not_after;
	strlcpy(st->certificate, ctx != NULL ? c->tls_certificate : "",
	    sizeof(st->certificate));
}

static int
tls_random(void *buf, size_t len)
{
	unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = getrandom(p, len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
tls_keys_rotate(struct tls_state *st)
{
	struct msg_tls_key k;

	if (tls_random(&k, sizeof(k)) == -1)
		return -1;
	memmove(&st->keys.keys[1], &st->keys.keys[0],
	    (MSG_TLS_NKEYS - 1) * sizeof(st->keys.keys[0]));
	st->keys.keys[0] = k;
	if (st->keys.nkeys < MSG_TLS_NKEYS)
		st->keys.nkeys++;
	explicit_bzero(&k, sizeof(k));
	tls_ticket_keys_set(&st->keys);
	return 0;
}

void
tls_state_free(struct tls_state *st)
{
	if (st->ctx != NULL)
		SSL_CTX_free(st->ctx);
	st->ctx = NULL;
	explicit_bzero(&st->keys, sizeof(st->keys));
}
