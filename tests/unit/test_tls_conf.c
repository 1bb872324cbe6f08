/*
 * The pure parts of HTTPS (issue 16): the "tls" flag of listen lines, the
 * TLS keys' defaults and validation, the protocol list, and the ticket-key
 * rotation of the supervisor (which keys encrypt, which still decrypt).
 */
#include "ipc/msg.h"
#include "server/tls.h"
#include "supervisor/config.h"
#include "supervisor/tls_keys.h"

#include <criterion/criterion.h>

#include <string.h>

static struct config cfg;
static char err[CONFIG_ERR_LEN];

static int
set(const char *key, const char *value)
{
	err[0] = '\0';
	return config_set(&cfg, key, value, "t.conf:1", err, sizeof(err));
}

Test(tls_conf, listen_flag_marks_only_that_listener)
{
	config_defaults(&cfg);
	cr_assert_eq(set("listen", "127.0.0.1:8080"), 0, "%s", err);
	cr_assert_eq(set("listen", "127.0.0.1:8443   tls"), 0, "%s", err);
	cr_assert_eq(cfg.nlisten, 2);
	cr_expect(!cfg.listen[0].tls);
	cr_expect(cfg.listen[1].tls);
	cr_expect_str_eq(cfg.listen[1].text, "127.0.0.1:8443");
	cr_expect(tls_conf_wanted(&cfg));
}

Test(tls_conf, unknown_listen_flag_is_an_error)
{
	config_defaults(&cfg);
	cr_assert_eq(set("listen", "127.0.0.1:8443 ssl"), -1);
	cr_expect_str_eq(err, "t.conf:1: listen: unknown flag \"ssl\" after the address (expected \"tls\", \"proxy_protocol\" or \"cc=NAME\")");
}

Test(tls_conf, defaults_are_mozilla_intermediate)
{
	config_defaults(&cfg);
	cr_expect_str_eq(cfg.tls_protocols, "TLSv1.2 TLSv1.3");
	cr_expect_eq(cfg.tls_ticket_key_rotation_ms, 3600000);
	cr_expect_str_eq(cfg.tls_ciphersuites,
	    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
	/* AEAD with forward secrecy only: no CBC, no static RSA key exchange. */
	cr_expect_null(strstr(cfg.tls_ciphers, "CBC"));
	cr_expect_null(strstr(cfg.tls_ciphers, "SHA:"));
	for (char *p = cfg.tls_ciphers; p != NULL; p = strchr(p, ':'), p = p ? p + 1 : p)
		cr_expect(strncmp(p, "ECDHE-", 6) == 0 || strncmp(p, "DHE-", 4) == 0, "%s", p);
	cr_expect(!tls_conf_wanted(&cfg));
}

Test(tls_conf, tls_listener_needs_a_certificate)
{
	config_defaults(&cfg);
	cr_assert_eq(set("listen", "127.0.0.1:8443 tls"), 0, "%s", err);
	cr_assert_eq(set("root", "/"), 0);
	cr_assert_eq(config_validate(&cfg, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "listen 127.0.0.1:8443 tls: tls_certificate is not set");
}

Test(tls_conf, rotation_duration)
{
	config_defaults(&cfg);
	cr_assert_eq(set("tls_ticket_key_rotation", "90s"), 0, "%s", err);
	cr_expect_eq(cfg.tls_ticket_key_rotation_ms, 90000);
}

Test(tls_conf, protocol_list)
{
	int lo, hi;

	cr_assert_eq(tls_parse_protocols("TLSv1.2 TLSv1.3", &lo, &hi), 0);
	cr_expect_eq(lo, TLS1_2_VERSION);
	cr_expect_eq(hi, TLS1_3_VERSION);
	cr_assert_eq(tls_parse_protocols("tlsv1.3", &lo, &hi), 0);
	cr_expect_eq(lo, TLS1_3_VERSION);
	cr_expect_eq(hi, TLS1_3_VERSION);
	cr_expect_eq(tls_parse_protocols("TLSv1.1 TLSv1.2", &lo, &hi), -1);
	cr_expect_eq(tls_parse_protocols("", &lo, &hi), -1);
	cr_expect_eq(tls_parse_protocols("SSLv3", &lo, &hi), -1);
}

/* keys[0] is the newest; the two before it stay, the fourth-oldest goes. */
Test(tls_keys, rotation_keeps_the_previous_two)
{
	struct tls_state st;
	struct msg_tls_key k[4];

	memset(&st, 0, sizeof(st));
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(tls_keys_rotate(&st), 0);
		k[i] = st.keys.keys[0];
		cr_expect_eq(st.keys.nkeys, i < 3 ? (uint32_t)i + 1 : 3);
	}
	cr_expect_neq(memcmp(k[0].name, k[1].name, 16), 0);
	cr_expect_eq(memcmp(&st.keys.keys[0], &k[3], sizeof(k[3])), 0);
	cr_expect_eq(memcmp(&st.keys.keys[1], &k[2], sizeof(k[2])), 0);
	cr_expect_eq(memcmp(&st.keys.keys[2], &k[1], sizeof(k[1])), 0);
	tls_state_free(&st);
	cr_expect_eq(st.keys.nkeys, 0);
}
