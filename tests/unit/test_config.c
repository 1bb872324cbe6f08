/*
 * The config parser (supervisor/config*.c): defaults, file syntax, every
 * key's good and bad values with the exact error text, validation, the
 * command line.
 */
#include "supervisor/config.h"
#include "ipc/base/log.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each test's config and error buffer; large, so not on the stack. */
static struct config cfg;
static char err[CONFIG_ERR_LEN];
static char path[64];

/* Writes text to a fresh /tmp file named in path. */
static void
conf_write(const char *text)
{
	int fd;

	strcpy(path, "/tmp/preforkd-test-conf-XXXXXX");
	fd = mkstemp(path);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Defaults, then the file holding text; the file is gone afterwards. */
static int
load(const char *text)
{
	int rc;

	conf_write(text);
	config_defaults(&cfg);
	err[0] = '\0';
	rc = config_load_file(&cfg, path, err, sizeof(err));
	unlink(path);
	return rc;
}

/* Loading text fails with exactly "<path><suffix>". */
static void
load_fails(const char *text, const char *suffix)
{
	char want[CONFIG_ERR_LEN];

	cr_assert_eq(load(text), -1, "accepted: %s", text);
	snprintf(want, sizeof(want), "%s%s", path, suffix);
	cr_assert_str_eq(err, want);
}

static void
set_ok(const char *key, const char *value)
{
	err[0] = '\0';
	cr_assert_eq(config_set(&cfg, key, value, "t.conf:1", err, sizeof(err)), 0,
	    "%s = %s: %s", key, value, err);
}

/* config_set fails with exactly "t.conf:1: <msg>". */
static void
set_fails(const char *key, const char *value, const char *msg)
{
	char want[CONFIG_ERR_LEN];

	cr_assert_eq(config_set(&cfg, key, value, "t.conf:1", err, sizeof(err)), -1,
	    "accepted %s = %s", key, value);
	snprintf(want, sizeof(want), "t.conf:1: %s", msg);
	cr_assert_str_eq(err, want);
}

static void
fresh(void)
{
	config_defaults(&cfg);
	err[0] = '\0';
}

static const struct sockaddr_in *
sin4(int i)
{
	return (const struct sockaddr_in *)(const void *)&cfg.listen[i].addr;
}

static const struct sockaddr_in6 *
sin6(int i)
{
	return (const struct sockaddr_in6 *)(const void *)&cfg.listen[i].addr;
}

static int
validate(void)
{
	err[0] = '\0';
	return config_validate(&cfg, err, sizeof(err));
}

static int
from_args(int argc, char **argv, int *t)
{
	err[0] = '\0';
	return config_from_args(&cfg, argc, argv, t, err, sizeof(err));
}

/* --- defaults ------------------------------------------------------------ */

TestSuite(config_defaults, .init = fresh);

Test(config_defaults, every_key)
{
	cr_assert_eq(cfg.nlisten, 1);
	cr_assert_str_eq(cfg.listen[0].text, "127.0.0.1:8080");
	cr_assert_str_eq(cfg.root, ".");
	cr_assert(cfg.workers_auto);
	cr_assert_eq(cfg.max_workers, 64);
	cr_assert_str_eq(cfg.user, "");
	cr_assert_str_eq(cfg.group, "");
	cr_assert_str_eq(cfg.pidfile, "");
	cr_assert_not(cfg.daemon);
	cr_assert_str_eq(cfg.status_pipe, "");
	cr_assert_eq(cfg.status_interval_ms, 1000);
	cr_assert_eq(cfg.status_format, STATUS_JSON);
	cr_assert_str_eq(cfg.access_log, "-");
	cr_assert_str_eq(cfg.error_log, "");
	cr_assert_eq(cfg.log_level, LOG_LVL_INFO);
	cr_assert_str_eq(cfg.index, "index.html");
	cr_assert(cfg.autoindex);
	cr_assert_not(cfg.dotfiles_allow);
	cr_assert_eq(cfg.keepalive_timeout_ms, 5000);
	cr_assert_eq(cfg.keepalive_requests, 1000);
	cr_assert_eq(cfg.header_timeout_ms, 10000);
	cr_assert_eq(cfg.send_timeout_ms, 60000);
	cr_assert_eq(cfg.graceful_timeout_ms, 30000);
	cr_assert_eq(cfg.worker_timeout_ms, 30000);
	cr_assert_eq(cfg.max_requests, 0);
	cr_assert_eq(cfg.max_requests_jitter, 0);
	cr_assert_eq(cfg.max_connections, 1024);
	cr_assert_eq(cfg.backlog, 511);
	cr_assert_str_eq(cfg.file, "");
}

Test(config_defaults, listen_address)
{
	cr_assert_eq(sin4(0)->sin_family, AF_INET);
	cr_assert_eq(ntohs(sin4(0)->sin_port), 8080);
	cr_assert_eq(ntohl(sin4(0)->sin_addr.s_addr), INADDR_LOOPBACK);
	cr_assert_eq(cfg.listen[0].addrlen, sizeof(struct sockaddr_in));
}

Test(config_defaults, workers_auto_is_online_cpus)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	cr_assert_eq(cfg.workers, n < 1 ? 1 : n > 64 ? 64 : n);
}

Test(config_defaults, validate)
{
	cr_assert_eq(validate(), 0, "%s", err);
}

/* --- file syntax --------------------------------------------------------- */

TestSuite(config_file);

Test(config_file, comments_and_blank_lines)
{
	cr_assert_eq(load("# a comment\n\n   \n\t# indented comment\nworkers = 3\n\n"), 0,
	    "%s", err);
	cr_assert_eq(cfg.workers, 3);
	cr_assert_not(cfg.workers_auto);
}

Test(config_file, whitespace_trimmed)
{
	cr_assert_eq(load("  \troot\t=\t/tmp  \t\nworkers=2\n"), 0, "%s", err);
	cr_assert_str_eq(cfg.root, "/tmp");
	cr_assert_eq(cfg.workers, 2);
}

Test(config_file, quotes)
{
	cr_assert_eq(load("index = \"my index.html\"\nuser = \"\"\n"), 0, "%s", err);
	cr_assert_str_eq(cfg.index, "my index.html");
	cr_assert_str_eq(cfg.user, "");
}

Test(config_file, trailing_comment)
{
	cr_assert_eq(load("workers = 4 # four\nindex = a#b\n"), 0, "%s", err);
	cr_assert_eq(cfg.workers, 4);
	cr_assert_str_eq(cfg.index, "a#b", "a '#' not after whitespace is data");
}

Test(config_file, hash_inside_quotes)
{
	cr_assert_eq(load("index = \"a #b\" # comment\n"), 0, "%s", err);
	cr_assert_str_eq(cfg.index, "a #b");
}

Test(config_file, unterminated_quote)
{
	load_fails("index = \"abc\n", ":1: index: missing closing '\"'");
}

Test(config_file, unknown_key)
{
	load_fails("# x\n\nwrokers = 4\n", ":3: unknown key \"wrokers\"");
}

Test(config_file, missing_equals)
{
	load_fails("workers = 2\nroot = /\n\nworkers 4\n", ":4: expected \"key = value\"");
}

Test(config_file, missing_key)
{
	load_fails(" = 4\n", ":1: expected \"key = value\", got no key");
}

Test(config_file, bad_value_names_line_key_and_expectation)
{
	load_fails("root = /\n\n\n\n\n\nworkers = lots\n",
	    ":7: workers: expected \"auto\" or a number 1..64, got \"lots\"");
}

Test(config_file, crlf_line_endings)
{
	cr_assert_eq(load("workers = 5\r\nindex = i.htm\r\n# c\r\n\r\n"), 0, "%s", err);
	cr_assert_eq(cfg.workers, 5);
	cr_assert_str_eq(cfg.index, "i.htm");
}

Test(config_file, no_final_newline)
{
	cr_assert_eq(load("workers = 6"), 0, "%s", err);
	cr_assert_eq(cfg.workers, 6);
}

Test(config_file, line_of_4096_bytes_accepted)
{
	char *text = malloc(4096 + 2);

	memset(text, ' ', 4096);
	text[0] = '#';
	strcpy(text + 4096, "\n");
	cr_assert_eq(load(text), 0, "%s", err);
	free(text);
}

Test(config_file, long_line_rejected)
{
	char *text = malloc(4097 + 20);

	strcpy(text, "workers = 1\n");
	memset(text + 12, ' ', 4097);
	text[12] = '#';
	strcpy(text + 12 + 4097, "\n");
	load_fails(text, ":2: line too long (more than 4096 bytes)");
	free(text);
}

Test(config_file, line_of_4096_bytes_with_crlf_accepted)
{
	char *text = malloc(4096 + 3);

	memset(text, 'x', 4096);
	memcpy(text, "index = ", 8);
	strcpy(text + 4096, "\r\n");
	cr_assert_eq(load(text), -1);
	cr_assert(strstr(err, ":1: index: too long (at most 255 bytes)") != NULL, "%s", err);
	free(text);
}

Test(config_file, long_last_line_without_newline)
{
	char *text = malloc(10000);

	memset(text, '#', 9999);
	text[9999] = '\0';
	load_fails(text, ":1: line too long (more than 4096 bytes)");
	free(text);
}

Test(config_file, cannot_open)
{
	config_defaults(&cfg);
	cr_assert_eq(config_load_file(&cfg, "/nonexistent/preforkd.conf", err, sizeof(err)), -1);
	cr_assert_str_eq(err, "/nonexistent/preforkd.conf: cannot open: No such file or directory");
}

Test(config_file, directory_cannot_be_read)
{
	config_defaults(&cfg);
	cr_assert_eq(config_load_file(&cfg, "/tmp", err, sizeof(err)), -1);
	cr_assert_str_eq(err, "/tmp: cannot read: Is a directory");
}

Test(config_file, dashes_in_keys)
{
	cr_assert_eq(load("keepalive-timeout = 2s\nmax-requests-jitter = 7\n"), 0, "%s", err);
	cr_assert_eq(cfg.keepalive_timeout_ms, 2000);
	cr_assert_eq(cfg.max_requests_jitter, 7);
}

Test(config_file, nul_byte)
{
	int fd;

	strcpy(path, "/tmp/preforkd-test-conf-XXXXXX");
	fd = mkstemp(path);
	cr_assert_eq(write(fd, "workers = 2\nroot = /\0x\n", 23), 23);
	close(fd);
	config_defaults(&cfg);
	cr_assert_eq(config_load_file(&cfg, path, err, sizeof(err)), -1);
	unlink(path);
	cr_assert(strstr(err, ":2: NUL byte in line") != NULL, "%s", err);
}

Test(config_file, utf8_bom)
{
	cr_assert_eq(load("\xef\xbb\xbfworkers = 3\n"), 0, "%s", err);
	cr_assert_eq(cfg.workers, 3);
}

Test(config_file, records_its_name)
{
	cr_assert_eq(load("workers = 3\n"), 0, "%s", err);
	cr_assert_str_eq(cfg.file, path);
}

Test(config_file, unprintable_key_echoed_safely)
{
	load_fails("wor\x01kers = 1\n", ":1: unknown key \"wor?kers\"");
}

Test(config_file, later_line_overrides_earlier)
{
	cr_assert_eq(load("workers = 3\nworkers = 5\n"), 0, "%s", err);
	cr_assert_eq(cfg.workers, 5);
}

/* The shipped example sets every key to its default. */
Test(config_file, example_file_is_the_defaults)
{
	static struct config def;
	const char *example = "scripts/preforkd.conf.example";

	config_defaults(&def);
	config_defaults(&cfg);
	cr_assert_eq(config_load_file(&cfg, example, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg.file, example);
	strcpy(def.file, example);
	def.listen_fresh = false;
	cr_assert_eq(memcmp(&def, &cfg, sizeof(def)), 0);
}

/* --- listen ---------------------------------------------------------------- */

TestSuite(config_listen, .init = fresh);

Test(config_listen, ipv4)
{
	set_ok("listen", "10.1.2.3:80");
	cr_assert_eq(cfg.nlisten, 1);
	cr_assert_str_eq(cfg.listen[0].text, "10.1.2.3:80");
	cr_assert_eq(sin4(0)->sin_family, AF_INET);
	cr_assert_eq(ntohs(sin4(0)->sin_port), 80);
	cr_assert_eq(ntohl(sin4(0)->sin_addr.s_addr), 0x0a010203);
}

Test(config_listen, ipv6)
{
	struct in6_addr lo = IN6ADDR_LOOPBACK_INIT;

	set_ok("listen", "[::1]:8443");
	cr_assert_eq(sin6(0)->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(sin6(0)->sin6_port), 8443);
	cr_assert_eq(memcmp(&sin6(0)->sin6_addr, &lo, sizeof(lo)), 0);
	cr_assert_eq(cfg.listen[0].addrlen, sizeof(struct sockaddr_in6));
}

Test(config_listen, ipv6_any)
{
	set_ok("listen", "[::]:80");
	cr_assert_eq(sin6(0)->sin6_family, AF_INET6);
	cr_assert(IN6_IS_ADDR_UNSPECIFIED(&sin6(0)->sin6_addr));
}

Test(config_listen, star_is_every_ipv4_address)
{
	set_ok("listen", "*:81");
	cr_assert_eq(sin4(0)->sin_family, AF_INET);
	cr_assert_eq(sin4(0)->sin_addr.s_addr, htonl(INADDR_ANY));
	cr_assert_eq(ntohs(sin4(0)->sin_port), 81);
}

Test(config_listen, bare_port_is_every_ipv4_address)
{
	set_ok("listen", "8000");
	cr_assert_eq(sin4(0)->sin_family, AF_INET);
	cr_assert_eq(sin4(0)->sin_addr.s_addr, htonl(INADDR_ANY));
	cr_assert_eq(ntohs(sin4(0)->sin_port), 8000);
}

Test(config_listen, port_0_and_65535)
{
	set_ok("listen", "127.0.0.1:0");
	set_ok("listen", "127.0.0.1:65535");
	cr_assert_eq(cfg.nlisten, 2);
	cr_assert_eq(ntohs(sin4(0)->sin_port), 0);
	cr_assert_eq(ntohs(sin4(1)->sin_port), 65535);
}

Test(config_listen, port_65536_rejected)
{
	set_fails("listen", "127.0.0.1:65536",
	    "listen: expected a port 0..65535, got \"65536\"");
	cr_assert_eq(cfg.nlisten, 1, "a bad listen leaves the list alone");
	cr_assert_str_eq(cfg.listen[0].text, "127.0.0.1:8080");
}

Test(config_listen, port_junk_rejected)
{
	set_fails("listen", "127.0.0.1:80x", "listen: expected a port 0..65535, got \"80x\"");
	set_fails("listen", "127.0.0.1:", "listen: expected a port 0..65535, got \"\"");
	set_fails("listen", "http", "listen: expected a port 0..65535, got \"http\"");
	set_fails("listen", "[::1]:-1", "listen: expected a port 0..65535, got \"-1\"");
}

Test(config_listen, malformed)
{
	set_fails("listen", ":80", "listen: expected HOST:PORT, [IPv6]:PORT, *:PORT or PORT, "
	    "got \":80\"");
	set_fails("listen", "[::1]80", "listen: expected [IPv6]:PORT");
	set_fails("listen", "[::1", "listen: expected [IPv6]:PORT");
	set_fails("listen", "::1:80", "listen: an IPv6 address needs brackets, as in [::1]:8080");
}

Test(config_listen, cc_flag_names_a_congestion_control)
{
	set_ok("listen", "127.0.0.1:80 cc=cubic");
	set_ok("listen", "127.0.0.1:443 tls cc=bbr proxy_protocol");
	set_ok("listen", "127.0.0.1:81");
	cr_assert_str_eq(cfg.listen[0].cc, "cubic");
	cr_assert(cfg.listen[1].tls && cfg.listen[1].proxy_protocol);
	cr_assert_str_eq(cfg.listen[1].cc, "bbr");
	cr_assert_str_eq(cfg.listen[1].text, "127.0.0.1:443");
	cr_assert_str_eq(cfg.listen[2].cc, "");
}

Test(config_listen, cc_flag_needs_a_kernel_style_name)
{
	set_fails("listen", "127.0.0.1:80 cc=", "listen: cc= expects a congestion control "
	    "name such as cubic, reno or bbr (at most 15 characters), got \"\"");
	set_fails("listen", "127.0.0.1:80 cc=Cubic", "listen: cc= expects a congestion control "
	    "name such as cubic, reno or bbr (at most 15 characters), got \"Cubic\"");
	set_fails("listen", "127.0.0.1:80 cc=abcdefghijklmnop", "listen: cc= expects a "
	    "congestion control name such as cubic, reno or bbr (at most 15 characters), "
	    "got \"abcdefghijklmnop\"");
}

Test(config_listen, bad_ipv6_address)
{
	set_fails("listen", "[1.2.3.4]:80", "listen: \"1.2.3.4\" is not an IPv6 address");
	set_fails("listen", "[]:80", "listen: expected HOST:PORT, [IPv6]:PORT, *:PORT or PORT, "
	    "got \"[]:80\"");
}

Test(config_listen, hostname_localhost)
{
	int i;
	bool v4 = false;

	set_ok("listen", "localhost:8080");
	cr_assert_geq(cfg.nlisten, 1);
	for (i = 0; i < cfg.nlisten; i++) {
		cr_assert_str_eq(cfg.listen[i].text, "localhost:8080");
		if (sin4(i)->sin_family == AF_INET) {
			v4 = true;
			cr_assert_eq(ntohl(sin4(i)->sin_addr.s_addr), INADDR_LOOPBACK);
		}
	}
	cr_assert(v4);
}

Test(config_listen, file_first_replaces_default_later_append)
{
	cr_assert_eq(load("listen = 127.0.0.1:1\nworkers = 1\nlisten = [::1]:2\n"), 0, "%s", err);
	cr_assert_eq(cfg.nlisten, 2);
	cr_assert_str_eq(cfg.listen[0].text, "127.0.0.1:1");
	cr_assert_str_eq(cfg.listen[1].text, "[::1]:2");
}

Test(config_listen, too_many)
{
	char v[32];
	int i;

	for (i = 0; i < CONFIG_MAX_LISTEN; i++) {
		snprintf(v, sizeof(v), "127.0.0.1:%d", 1000 + i);
		set_ok("listen", v);
	}
	cr_assert_eq(cfg.nlisten, CONFIG_MAX_LISTEN);
	set_fails("listen", "127.0.0.1:2000", "listen: too many addresses (at most 16)");
}

Test(config_listen, too_long)
{
	set_fails("listen", "[0000:0000:0000:0000:0000:0000:0000:0001]:80808080808080808080",
	    "listen: expected a port 0..65535, got \"80808080808080808080\"");
	set_fails("listen", "a-very-long-host-name-that-goes-on-and-on-and-on.example.com:8080",
	    "listen: address too long (at most 63 bytes)");
}

Test(config_listen, duplicate_rejected_by_validate)
{
	set_ok("listen", "127.0.0.1:9000");
	set_ok("listen", "[::1]:9000");
	set_ok("listen", "127.0.0.1:9000");
	cr_assert_eq(validate(), -1);
	cr_assert_str_eq(err, "listen: 127.0.0.1:9000 listed twice (\"127.0.0.1:9000\" and "
	    "\"127.0.0.1:9000\")");
}

Test(config_listen, duplicate_spelled_differently)
{
	set_ok("listen", "*:9000");
	set_ok("listen", "0.0.0.0:9000");
	cr_assert_eq(validate(), -1);
	cr_assert_str_eq(err, "listen: 0.0.0.0:9000 listed twice (\"*:9000\" and \"0.0.0.0:9000\")");
}

Test(config_listen, port_0_twice_is_not_a_duplicate)
{
	set_ok("listen", "127.0.0.1:0");
	set_ok("listen", "127.0.0.1:0");
	cr_assert_eq(validate(), 0, "%s", err);
}

Test(config_listen, format)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(8080) };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(443),
	    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr sa = { .sa_family = AF_UNIX };
	char buf[64];

	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(config_listen_format((struct sockaddr *)&s4, sizeof(s4), buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "127.0.0.1:8080");
	cr_assert_eq(config_listen_format((struct sockaddr *)&s6, sizeof(s6), buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "[::1]:443");
	cr_assert_eq(config_listen_format((struct sockaddr *)&s6, sizeof(s6), buf, 9), -1);
	cr_assert_eq(config_listen_format(&sa, sizeof(sa), buf, sizeof(buf)), -1);
	cr_assert_eq(config_listen_format((struct sockaddr *)&s4, 4, buf, sizeof(buf)), -1);
}

/* --- workers ---------------------------------------------------------------- */

TestSuite(config_workers, .init = fresh);

Test(config_workers, number_and_auto)
{
	set_ok("workers", "4");
	cr_assert_eq(cfg.workers, 4);
	cr_assert_not(cfg.workers_auto);
	set_ok("workers", "auto");
	cr_assert(cfg.workers_auto);
	cr_assert_geq(cfg.workers, 1);
}

Test(config_workers, bad_values)
{
	const char *msg = "workers: expected \"auto\" or a number 1..64, got ";
	char want[128];

	snprintf(want, sizeof(want), "%s\"lots\"", msg);
	set_fails("workers", "lots", want);
	snprintf(want, sizeof(want), "%s\"0\"", msg);
	set_fails("workers", "0", want);
	snprintf(want, sizeof(want), "%s\"-2\"", msg);
	set_fails("workers", "-2", want);
	snprintf(want, sizeof(want), "%s\"4x\"", msg);
	set_fails("workers", "4x", want);
	snprintf(want, sizeof(want), "%s\"\"", msg);
	set_fails("workers", "", want);
	snprintf(want, sizeof(want), "%s\"1025\"", msg);
	set_fails("workers", "1025", want);
}

Test(config_workers, more_than_max_workers_fails_validation)
{
	set_ok("workers", "65");
	cr_assert_eq(validate(), -1);
	cr_assert_str_eq(err, "workers: 65 is more than max_workers (64)");
}

Test(config_workers, max_workers_may_come_later)
{
	cr_assert_eq(load("workers = 100\nmax_workers = 128\n"), 0, "%s", err);
	cr_assert_eq(validate(), 0, "%s", err);
	cr_assert_eq(cfg.workers, 100);
	cr_assert_eq(cfg.max_workers, 128);
}

Test(config_workers, auto_is_capped_by_max_workers)
{
	set_ok("workers", "auto");
	set_ok("max_workers", "1");
	cr_assert_eq(cfg.workers, 1);
	cr_assert_eq(validate(), 0, "%s", err);
}

Test(config_workers, max_workers_range)
{
	set_ok("max_workers", "1024");
	cr_assert_eq(cfg.max_workers, 1024);
	set_fails("max_workers", "0", "max_workers: expected a number 1..1024, got \"0\"");
	set_fails("max_workers", "1025", "max_workers: expected a number 1..1024, got \"1025\"");
}

/* --- booleans and enums ----------------------------------------------------- */

TestSuite(config_enums, .init = fresh);

Test(config_enums, booleans)
{
	const char *on[] = { "on", "yes", "true", "1", "ON", "True" };
	const char *off[] = { "off", "no", "false", "0", "OFF", "False" };
	size_t i;

	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		set_ok("daemon", on[i]);
		cr_assert(cfg.daemon, "%s", on[i]);
		set_ok("autoindex", off[i]);
		cr_assert_not(cfg.autoindex, "%s", off[i]);
		set_ok("daemon", off[i]);
		cr_assert_not(cfg.daemon, "%s", off[i]);
		set_ok("autoindex", on[i]);
		cr_assert(cfg.autoindex, "%s", on[i]);
	}
}

Test(config_enums, bad_booleans)
{
	set_fails("daemon", "maybe",
	    "daemon: expected on/off, yes/no, true/false or 1/0, got \"maybe\"");
	set_fails("autoindex", "2",
	    "autoindex: expected on/off, yes/no, true/false or 1/0, got \"2\"");
	set_fails("autoindex", "",
	    "autoindex: expected on/off, yes/no, true/false or 1/0, got \"\"");
}

Test(config_enums, status_format)
{
	set_ok("status_format", "text");
	cr_assert_eq(cfg.status_format, STATUS_TEXT);
	set_ok("status_format", "json");
	cr_assert_eq(cfg.status_format, STATUS_JSON);
	set_ok("status_format", "OpenMetrics");
	cr_assert_eq(cfg.status_format, STATUS_OPENMETRICS);
	set_fails("status_format", "xml",
	    "status_format: expected \"json\", \"text\" or \"openmetrics\", got \"xml\"");
}

Test(config_enums, log_level)
{
	set_ok("log_level", "error");
	cr_assert_eq(cfg.log_level, LOG_LVL_ERROR);
	set_ok("log_level", "warn");
	cr_assert_eq(cfg.log_level, LOG_LVL_WARN);
	set_ok("log_level", "debug");
	cr_assert_eq(cfg.log_level, LOG_LVL_DEBUG);
	set_ok("log_level", "info");
	cr_assert_eq(cfg.log_level, LOG_LVL_INFO);
	set_fails("log_level", "verbose", "log_level: expected \"error\", \"warn\", "
	    "\"info\" or \"debug\", got \"verbose\"");
}

Test(config_enums, dotfiles)
{
	set_ok("dotfiles", "allow");
	cr_assert(cfg.dotfiles_allow);
	set_ok("dotfiles", "deny");
	cr_assert_not(cfg.dotfiles_allow);
	set_fails("dotfiles", "ignore", "dotfiles: expected \"deny\" or \"allow\", got \"ignore\"");
}

/* --- durations ---------------------------------------------------------------- */

TestSuite(config_duration, .init = fresh);

Test(config_duration, parse_units)
{
	int ms;

	cr_assert_eq(config_parse_duration_ms("5s", &ms), 0);
	cr_assert_eq(ms, 5000);
	cr_assert_eq(config_parse_duration_ms("500ms", &ms), 0);
	cr_assert_eq(ms, 500);
	cr_assert_eq(config_parse_duration_ms("2m", &ms), 0);
	cr_assert_eq(ms, 120000);
	cr_assert_eq(config_parse_duration_ms("1h", &ms), 0);
	cr_assert_eq(ms, 3600000);
	cr_assert_eq(config_parse_duration_ms("1d", &ms), 0);
	cr_assert_eq(ms, 86400000);
	cr_assert_eq(config_parse_duration_ms("7", &ms), 0);
	cr_assert_eq(ms, 7000);
	cr_assert_eq(config_parse_duration_ms("0", &ms), 0);
	cr_assert_eq(ms, 0);
}

Test(config_duration, parse_limits)
{
	int ms;

	cr_assert_eq(config_parse_duration_ms("24d", &ms), 0);
	cr_assert_eq(ms, 2073600000);
	cr_assert_eq(config_parse_duration_ms("2073600000ms", &ms), 0);
	cr_assert_eq(config_parse_duration_ms("2073600001ms", &ms), -1);
	cr_assert_eq(config_parse_duration_ms("25d", &ms), -1);
	cr_assert_eq(config_parse_duration_ms("577h", &ms), -1);
	cr_assert_eq(config_parse_duration_ms("99999999999999999999999s", &ms), -1);
}

Test(config_duration, leading_zeros)
{
	int ms;

	cr_assert_eq(config_parse_duration_ms("000000000000000000000000000005s", &ms), 0);
	cr_assert_eq(ms, 5000);
	cr_assert_eq(config_parse_duration_ms("0", &ms), 0);
	cr_assert_eq(ms, 0);
	cr_assert_eq(config_parse_duration_ms("00000000000000000000000002073600000ms", &ms), 0);
	cr_assert_eq(ms, 2073600000);
	cr_assert_eq(config_parse_duration_ms("9223372036854775808ms", &ms), -1);
}

Test(config_duration, parse_junk)
{
	const char *bad[] = { "", "s", "5x", "5 s", " 5s", "-1", "+5", "1.5s", "5S", "5sec",
	    "ms", "5mss" };
	size_t i;
	int ms;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(config_parse_duration_ms(bad[i], &ms), -1, "accepted \"%s\"", bad[i]);
}

Test(config_duration, every_duration_key)
{
	set_ok("status_interval", "100ms");
	cr_assert_eq(cfg.status_interval_ms, 100);
	set_ok("keepalive_timeout", "0");
	cr_assert_eq(cfg.keepalive_timeout_ms, 0, "0 turns keep-alive off");
	set_ok("header_timeout", "3s");
	cr_assert_eq(cfg.header_timeout_ms, 3000);
	set_ok("send_timeout", "2m");
	cr_assert_eq(cfg.send_timeout_ms, 120000);
	set_ok("graceful_timeout", "0s");
	cr_assert_eq(cfg.graceful_timeout_ms, 0);
	set_ok("worker_timeout", "1h");
	cr_assert_eq(cfg.worker_timeout_ms, 3600000);
}

Test(config_duration, zero_rejected_where_meaningless)
{
	set_fails("status_interval", "0", "status_interval: expected a duration such as "
	    "500ms, 5s, 2m or 1h (1ms..24d), got \"0\"");
	set_fails("header_timeout", "0ms", "header_timeout: expected a duration such as "
	    "500ms, 5s, 2m or 1h (1ms..24d), got \"0ms\"");
	set_fails("send_timeout", "0s", "send_timeout: expected a duration such as "
	    "500ms, 5s, 2m or 1h (1ms..24d), got \"0s\"");
	set_fails("worker_timeout", "0", "worker_timeout: expected a duration such as "
	    "500ms, 5s, 2m or 1h (1s..24d), got \"0\"");
}

Test(config_duration, bad_values)
{
	set_fails("keepalive_timeout", "5 minutes", "keepalive_timeout: expected a duration "
	    "such as 500ms, 5s, 2m or 1h (0..24d), got \"5 minutes\"");
	set_fails("graceful_timeout", "30d", "graceful_timeout: expected a duration "
	    "such as 500ms, 5s, 2m or 1h (0..24d), got \"30d\"");
}

/* --- integers ------------------------------------------------------------------- */

TestSuite(config_int, .init = fresh);

Test(config_int, good_values)
{
	set_ok("keepalive_requests", "1");
	cr_assert_eq(cfg.keepalive_requests, 1);
	set_ok("max_requests", "0");
	cr_assert_eq(cfg.max_requests, 0);
	set_ok("max_requests", "10000000000");
	cr_assert_eq(cfg.max_requests, 10000000000L);
	set_ok("max_requests_jitter", "50");
	cr_assert_eq(cfg.max_requests_jitter, 50);
	set_ok("max_connections", "1");
	cr_assert_eq(cfg.max_connections, 1);
	set_ok("backlog", "65535");
	cr_assert_eq(cfg.backlog, 65535);
	set_ok("backlog", "1");
	cr_assert_eq(cfg.backlog, 1);
}

Test(config_int, keepalive_requests_range)
{
	set_fails("keepalive_requests", "0",
	    "keepalive_requests: expected a number 1..2147483647, got \"0\"");
	set_fails("keepalive_requests", "2147483648",
	    "keepalive_requests: expected a number 1..2147483647, got \"2147483648\"");
}

Test(config_int, max_requests_jitter_negative)
{
	set_fails("max_requests_jitter", "-1",
	    "max_requests_jitter: expected a number 0..9223372036854775807, got \"-1\"");
}

Test(config_int, overflow_and_junk)
{
	set_fails("max_requests", "99999999999999999999",
	    "max_requests: expected a number 0..9223372036854775807, got \"99999999999999999999\"");
	set_fails("max_connections", "12abc",
	    "max_connections: expected a number 1..1048576, got \"12abc\"");
	set_fails("max_connections", "0x10",
	    "max_connections: expected a number 1..1048576, got \"0x10\"");
	set_fails("max_connections", " 5",
	    "max_connections: expected a number 1..1048576, got \" 5\"");
}

/* Digits only: strtoll (under strtonum) would take a sign or leading blanks. */
Test(config_int, sign_and_blanks_rejected)
{
	set_fails("max_requests", "+5",
	    "max_requests: expected a number 0..9223372036854775807, got \"+5\"");
	set_fails("max_requests", "-0",
	    "max_requests: expected a number 0..9223372036854775807, got \"-0\"");
	set_fails("backlog", "\t5", "backlog: expected a number 1..65535, got \"?5\"");
	set_fails("listen", "127.0.0.1:+80", "listen: expected a port 0..65535, got \"+80\"");
	set_fails("workers", "+4", "workers: expected \"auto\" or a number 1..64, got \"+4\"");
}

Test(config_int, leading_zeros_and_the_edges)
{
	set_ok("backlog", "00000000000000000000000000000128");
	cr_assert_eq(cfg.backlog, 128);
	set_ok("max_requests", "9223372036854775807");
	cr_assert_eq(cfg.max_requests, LONG_MAX);
	set_fails("max_requests", "9223372036854775808", "max_requests: expected a number "
	    "0..9223372036854775807, got \"9223372036854775808\"");
	set_ok("listen", "127.0.0.1:0080");
	cr_assert_eq(ntohs(sin4(0)->sin_port), 80);
}

Test(config_int, backlog_range)
{
	set_fails("backlog", "0", "backlog: expected a number 1..65535, got \"0\"");
	set_fails("backlog", "65536", "backlog: expected a number 1..65535, got \"65536\"");
}

/* --- strings and paths ------------------------------------------------------------ */

TestSuite(config_strings, .init = fresh);

Test(config_strings, paths)
{
	set_ok("root", "/srv/www");
	cr_assert_str_eq(cfg.root, "/srv/www");
	set_ok("pidfile", "/run/preforkd.pid");
	cr_assert_str_eq(cfg.pidfile, "/run/preforkd.pid");
	set_ok("status_pipe", "/run/preforkd/status");
	cr_assert_str_eq(cfg.status_pipe, "/run/preforkd/status");
	set_ok("pidfile", "");
	cr_assert_str_eq(cfg.pidfile, "", "an empty value unsets an optional path");
}

Test(config_strings, root_must_not_be_empty)
{
	set_fails("root", "", "root: expected a non-empty value");
}

Test(config_strings, too_long)
{
	char *v = malloc(PATH_MAX + 1);
	char want[64];

	memset(v, 'a', PATH_MAX);
	v[PATH_MAX] = '\0';
	snprintf(want, sizeof(want), "root: too long (at most %d bytes)", PATH_MAX - 1);
	set_fails("root", v, want);
	v[64] = '\0';
	set_fails("user", v, "user: too long (at most 63 bytes)");
	set_fails("group", v, "group: too long (at most 63 bytes)");
	free(v);
}

Test(config_strings, user_and_group)
{
	set_ok("user", "www-data");
	set_ok("group", "www-data");
	cr_assert_str_eq(cfg.user, "www-data");
	cr_assert_str_eq(cfg.group, "www-data");
}

Test(config_strings, access_log)
{
	set_ok("access_log", "off");
	cr_assert_str_eq(cfg.access_log, "off");
	set_ok("access_log", "/var/log/preforkd/access.log");
	cr_assert_str_eq(cfg.access_log, "/var/log/preforkd/access.log");
	set_ok("access_log", "-");
	cr_assert_str_eq(cfg.access_log, "-");
	set_fails("access_log", "", "access_log: expected a non-empty value");
}

Test(config_strings, error_log)
{
	set_ok("error_log", "/var/log/preforkd/error.log");
	cr_assert_str_eq(cfg.error_log, "/var/log/preforkd/error.log");
	set_ok("error_log", "stderr");
	cr_assert_str_eq(cfg.error_log, "");
	set_ok("error_log", "/x");
	set_ok("error_log", "-");
	cr_assert_str_eq(cfg.error_log, "");
}

Test(config_strings, index)
{
	set_ok("index", "default.htm");
	cr_assert_str_eq(cfg.index, "default.htm");
	set_fails("index", "a/b.html", "index: expected a file name without '/', got \"a/b.html\"");
	set_fails("index", "", "index: expected a file name without '/', got \"\"");
	set_fails("index", "..", "index: expected a file name without '/', got \"..\"");
}

Test(config_strings, long_values_are_cut_in_errors)
{
	char v[200];

	memset(v, 'x', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	cr_assert_eq(config_set(&cfg, "dotfiles", v, "t.conf:1", err, sizeof(err)), -1);
	cr_assert(strstr(err, "xxx...\"") != NULL, "%s", err);
	cr_assert_lt(strlen(err), 200);
}

Test(config_strings, error_without_where)
{
	cr_assert_eq(config_set(&cfg, "backlog", "x", NULL, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "backlog: expected a number 1..65535, got \"x\"");
	cr_assert_eq(config_set(&cfg, "nope", "x", NULL, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "unknown key \"nope\"");
}

/* --- validation ---------------------------------------------------------------- */

TestSuite(config_validate, .init = fresh);

Test(config_validate, root_missing)
{
	set_ok("root", "/nope");
	cr_assert_eq(validate(), -1);
	cr_assert_str_eq(err, "root: /nope: No such file or directory");
}

Test(config_validate, root_not_a_directory)
{
	set_ok("root", "/etc/passwd");
	cr_assert_eq(validate(), -1);
	cr_assert_str_eq(err, "root: /etc/passwd: Not a directory");
}

Test(config_validate, user_exists)
{
	set_ok("user", "root");
	set_ok("group", "root");
	cr_assert_eq(validate(), 0, "%s", err);
}

Test(config_validate, user_missing)
{
	set_ok("user", "no-such-user-pfd");
	cr_assert_eq(validate(), -1);
	cr_assert_str_eq(err, "user: \"no-such-user-pfd\": no such user");
}

Test(config_validate, group_missing)
{
	set_ok("group", "no-such-group-pfd");
	cr_assert_eq(validate(), -1);
	cr_assert_str_eq(err, "group: \"no-such-group-pfd\": no such group");
}

Test(config_validate, status_pipe_parent)
{
	set_ok("status_pipe", "/tmp/preforkd-status");
	cr_assert_eq(validate(), 0, "%s", err);
	set_ok("status_pipe", "/nope/status");
	cr_assert_eq(validate(), -1);
	cr_assert_str_eq(err, "status_pipe: /nope/status: directory /nope: "
	    "No such file or directory");
}

Test(config_validate, parent_not_a_directory)
{
	set_ok("pidfile", "/etc/passwd/x.pid");
	cr_assert_eq(validate(), -1);
	cr_assert_str_eq(err, "pidfile: /etc/passwd/x.pid: /etc/passwd is not a directory");
}

Test(config_validate, log_parents)
{
	set_ok("error_log", "relative.log");
	set_ok("access_log", "/tmp/access.log");
	cr_assert_eq(validate(), 0, "%s", err);
	set_ok("access_log", "/nope/access.log");
	cr_assert_eq(validate(), -1);
	cr_assert_str_eq(err, "access_log: /nope/access.log: directory /nope: "
	    "No such file or directory");
	set_ok("access_log", "off");
	set_ok("error_log", "/nope/error.log");
	cr_assert_eq(validate(), -1);
	cr_assert_str_eq(err, "error_log: /nope/error.log: directory /nope: "
	    "No such file or directory");
}

/* --- command line --------------------------------------------------------------- */

TestSuite(config_args);

#define ARGV(...) ((char *[]){ "preforkd", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "preforkd", __VA_ARGS__ }) / sizeof(char *)))
#define FROM(t, ...) from_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), t)

Test(config_args, no_arguments_gives_defaults)
{
	char *argv[] = { "preforkd", NULL };
	int t = 7;

	cr_assert_eq(from_args(1, argv, &t), 0, "%s", err);
	cr_assert_eq(t, 0);
	cr_assert_str_eq(cfg.listen[0].text, "127.0.0.1:8080");
	cr_assert_str_eq(cfg.file, "");
}

Test(config_args, flags_override_file_in_any_order)
{
	int t;

	conf_write("workers = 3\nbacklog = 100\nroot = /tmp\n");
	cr_assert_eq(FROM(&t, "--workers=5", "-c", path, "--backlog", "7"), 0, "%s", err);
	unlink(path);
	cr_assert_eq(cfg.workers, 5);
	cr_assert_eq(cfg.backlog, 7);
	cr_assert_str_eq(cfg.root, "/tmp");
	cr_assert_eq(t, 0);
}

Test(config_args, key_space_value_form)
{
	cr_assert_eq(FROM(NULL, "--root", "/tmp", "--access-log", "-", "--status-interval", "2s"),
	    0, "%s", err);
	cr_assert_str_eq(cfg.root, "/tmp");
	cr_assert_str_eq(cfg.access_log, "-");
	cr_assert_eq(cfg.status_interval_ms, 2000);
}

Test(config_args, dashes_and_underscores)
{
	cr_assert_eq(FROM(NULL, "--keepalive-timeout=2s", "--max_requests=9"), 0, "%s", err);
	cr_assert_eq(cfg.keepalive_timeout_ms, 2000);
	cr_assert_eq(cfg.max_requests, 9);
}

Test(config_args, boolean_alone_means_on)
{
	int t;

	cr_assert_eq(FROM(&t, "--daemon", "-t"), 0, "%s", err);
	cr_assert(cfg.daemon);
	cr_assert_eq(t, 1);
	cr_assert_eq(FROM(&t, "--daemon", "off"), 0, "%s", err);
	cr_assert_not(cfg.daemon);
	cr_assert_eq(t, 0);
	cr_assert_eq(FROM(&t, "--autoindex=no", "--daemon"), 0, "%s", err);
	cr_assert(cfg.daemon);
	cr_assert_not(cfg.autoindex);
}

Test(config_args, test_flag)
{
	int t = 0;

	cr_assert_eq(FROM(&t, "-t"), 0, "%s", err);
	cr_assert_eq(t, 1);
	cr_assert_eq(FROM(&t, "--test", "--workers=1"), 0, "%s", err);
	cr_assert_eq(t, 1);
}

Test(config_args, test_flag_reports_first_error)
{
	int t;

	conf_write("workers = 2\nroot = /nope\n");
	cr_assert_eq(FROM(&t, "-t", "-c", path), -1);
	unlink(path);
	cr_assert_str_eq(err, "root: /nope: No such file or directory");
}

Test(config_args, file_error_has_file_and_line)
{
	char want[CONFIG_ERR_LEN];

	conf_write("workers = 2\nwrokers = 2\n");
	cr_assert_eq(FROM(NULL, "-c", path), -1);
	unlink(path);
	snprintf(want, sizeof(want), "%s:2: unknown key \"wrokers\"", path);
	cr_assert_str_eq(err, want);
}

Test(config_args, attached_c_and_config_forms)
{
	char arg[80];

	conf_write("workers = 3\n");
	snprintf(arg, sizeof(arg), "-c%s", path);
	cr_assert_eq(FROM(NULL, arg), 0, "%s", err);
	cr_assert_eq(cfg.workers, 3);
	snprintf(arg, sizeof(arg), "--config=%s", path);
	cr_assert_eq(FROM(NULL, arg), 0, "%s", err);
	cr_assert_str_eq(cfg.file, path);
	unlink(path);
}

Test(config_args, missing_file)
{
	cr_assert_eq(FROM(NULL, "-c", "/nonexistent.conf"), -1);
	cr_assert_str_eq(err, "/nonexistent.conf: cannot open: No such file or directory");
	cr_assert_eq(FROM(NULL, "-c"), -1);
	cr_assert_str_eq(err, "-c: missing file name");
}

Test(config_args, bad_flag_value)
{
	cr_assert_eq(FROM(NULL, "--workers=lots"), -1);
	cr_assert_str_eq(err, "--workers: expected \"auto\" or a number 1..64, got \"lots\"");
	cr_assert_eq(FROM(NULL, "--status-format", "xml"), -1);
	cr_assert_str_eq(err, "--status-format: expected \"json\", \"text\" or \"openmetrics\", got \"xml\"");
}

Test(config_args, unknown_options)
{
	cr_assert_eq(FROM(NULL, "--wrokers=4"), -1);
	cr_assert_str_eq(err, "unknown option \"--wrokers=4\"");
	cr_assert_eq(FROM(NULL, "-x"), -1);
	cr_assert_str_eq(err, "unknown option \"-x\"");
	cr_assert_eq(FROM(NULL, "serve"), -1);
	cr_assert_str_eq(err, "unexpected argument \"serve\"");
	cr_assert_eq(FROM(NULL, "--"), -1);
	cr_assert_str_eq(err, "unknown option \"--\"");
}

Test(config_args, missing_value)
{
	cr_assert_eq(FROM(NULL, "--root"), -1);
	cr_assert_str_eq(err, "--root: missing value");
}

Test(config_args, help_and_version, .init = cr_redirect_stdout)
{
	cr_assert_eq(FROM(NULL, "-h"), 1);
	cr_assert_eq(FROM(NULL, "--workers=2", "--help"), 1);
	cr_assert_eq(FROM(NULL, "-V"), 1);
	fflush(stdout);
	cr_assert_stdout_neq_str("");
}

Test(config_args, help_text, .init = cr_redirect_stdout)
{
	cr_assert_eq(FROM(NULL, "-V"), 1);
	fflush(stdout);
	cr_assert_stdout_eq_str("preforkd " PREFORKD_VERSION "\n");
}

Test(config_args, listen_flags_replace_file_then_append)
{
	conf_write("listen = 127.0.0.1:1\nlisten = 127.0.0.1:2\n");
	cr_assert_eq(FROM(NULL, "--listen=[::1]:3", "-c", path, "--listen", "127.0.0.1:4"), 0,
	    "%s", err);
	unlink(path);
	cr_assert_eq(cfg.nlisten, 2);
	cr_assert_str_eq(cfg.listen[0].text, "[::1]:3");
	cr_assert_str_eq(cfg.listen[1].text, "127.0.0.1:4");
}

Test(config_args, file_listens_kept_without_flags)
{
	conf_write("listen = 127.0.0.1:1\nlisten = 127.0.0.1:2\n");
	cr_assert_eq(FROM(NULL, "-c", path), 0, "%s", err);
	unlink(path);
	cr_assert_eq(cfg.nlisten, 2);
	cr_assert_str_eq(cfg.listen[1].text, "127.0.0.1:2");
}

Test(config_args, relative_paths_made_absolute)
{
	char cwd[PATH_MAX], want[PATH_MAX + 32];

	cr_assert_neq(getcwd(cwd, sizeof(cwd)), NULL);
	cr_assert_eq(FROM(NULL, "--pidfile=p.pid", "--access-log=a.log", "--error-log=-",
	    "--status-pipe=/tmp/s"), 0, "%s", err);
	cr_assert_str_eq(cfg.root, cwd, "root \".\" is the working directory");
	snprintf(want, sizeof(want), "%s/p.pid", cwd);
	cr_assert_str_eq(cfg.pidfile, want);
	snprintf(want, sizeof(want), "%s/a.log", cwd);
	cr_assert_str_eq(cfg.access_log, want);
	cr_assert_str_eq(cfg.error_log, "");
	cr_assert_str_eq(cfg.status_pipe, "/tmp/s");
	cr_assert_eq(FROM(NULL, "--access-log=off"), 0, "%s", err);
	cr_assert_str_eq(cfg.access_log, "off");
}

Test(config_args, calling_twice_reads_the_file_again)
{
	char *argv[] = { "preforkd", "-c", path, "--backlog=9", NULL };
	int fd;

	conf_write("listen = 127.0.0.1:1\nlisten = 127.0.0.1:2\nworkers = 3\n");
	cr_assert_eq(from_args(4, argv, NULL), 0, "%s", err);
	cr_assert_eq(cfg.nlisten, 2);
	cr_assert_eq(cfg.workers, 3);
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_eq(write(fd, "workers = 4\n", 12), 12);
	close(fd);
	cr_assert_eq(from_args(4, argv, NULL), 0, "%s", err);
	unlink(path);
	cr_assert_eq(cfg.nlisten, 1, "nothing left over from the first call");
	cr_assert_str_eq(cfg.listen[0].text, "127.0.0.1:8080");
	cr_assert_eq(cfg.workers, 4);
	cr_assert_eq(cfg.backlog, 9);
}

Test(config_args, same_result_twice)
{
	static struct config first;
	char *argv[] = { "preforkd", "--listen=[::1]:0", "--workers=2", "--root=/tmp", NULL };

	cr_assert_eq(from_args(4, argv, NULL), 0, "%s", err);
	first = cfg;
	memset(&cfg, 0xa5, sizeof(cfg));
	cr_assert_eq(from_args(4, argv, NULL), 0, "%s", err);
	cr_assert_eq(memcmp(&first.listen, &cfg.listen, sizeof(cfg.listen)), 0);
	cr_assert_eq(first.workers, cfg.workers);
	cr_assert_str_eq(first.root, cfg.root);
}
