/*
 * Ticket keys never touch disk: they are drawn with getrandom(), kept in
 * the supervisor's memory, inherited by every fork and sent down the
 * channels on rotation. A reload keeps them, so a ticket from the old
 * generation resumes on the new one; a binary upgrade hands them to the
 * new supervisor over the upgrade socketpair (tls_keys_export/import).
 */
#include "supervisor/tls_keys.h"

#include <errno.h>
#include <limits.h>
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

	if (st->has_next)
		k = st->next;
	else if (tls_random(&k, sizeof(k)) == -1)
		return -1;
	/* The key after this one is drawn now: an upgrade hands it over with
	 * the ring, so the new supervisor rotates to the very key the old one
	 * would have, and a ticket the old workers seal under it in between
	 * still opens. If getrandom fails here, the next rotation draws. */
	st->has_next = tls_random(&st->next, sizeof(st->next)) == 0;
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
tls_keys_export(const struct tls_state *st, int64_t now_ms, struct tls_keys_handover *h)
{
	int64_t in = st->rotate_ms - now_ms;

	memset(h, 0, sizeof(*h));
	if (st->keys.nkeys < 1 || st->keys.nkeys > MSG_TLS_NKEYS)
		return;
	h->keys = st->keys;
	if (st->has_next) {
		h->next = st->next;
		h->has_next = 1;
	}
	h->rotate_in_ms = in < 0 ? 0 : in > INT_MAX ? INT_MAX : in;
	h->rotations = st->rotations;
}

int
tls_keys_import(struct tls_state *st, const struct tls_keys_handover *h, int64_t now_ms)
{
	if (h->keys.nkeys > MSG_TLS_NKEYS || h->keys.reserved != 0 || h->has_next > 1 ||
	    h->reserved != 0 || h->rotate_in_ms < 0 || h->rotate_in_ms > INT_MAX)
		return -1;
	if (h->keys.nkeys == 0)
		return 0;
	st->keys = h->keys;
	st->next = h->next;
	st->has_next = h->has_next == 1;
	/* Not a full interval from now: the old supervisor's schedule goes
	 * on, so an upgrade neither delays nor hurries a rotation. */
	st->rotate_ms = now_ms + h->rotate_in_ms;
	st->rotations = h->rotations;
	tls_ticket_keys_set(&st->keys);
	return 1;
}

void
tls_state_free(struct tls_state *st)
{
	if (st->ctx != NULL)
		SSL_CTX_free(st->ctx);
	st->ctx = NULL;
	explicit_bzero(&st->keys, sizeof(st->keys));
	explicit_bzero(&st->next, sizeof(st->next));
	st->has_next = false;
}
