/* The static-site keys in the config: defaults, file lines and flags. */
#include <criterion/criterion.h>
#include <string.h>

#include "supervisor/config.h"

static struct config cfg;
static char err[CONFIG_ERR_LEN];

Test(config_site, defaults)
{
	config_defaults(&cfg);
	cr_assert(cfg.site.precompressed);
	cr_assert_eq(cfg.site.autoindex_format, SITE_LIST_HTML);
	cr_assert_eq(cfg.site.ncache, 0);
	cr_assert_str_eq(cfg.site.mime_types, "");
}

Test(config_site, keys_set_and_repeat)
{
	config_defaults(&cfg);
	cr_assert_eq(config_set(&cfg, "precompressed", "off", "f:1", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(config_set(&cfg, "cache_control", "*.css max-age=60", "f:2", err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(config_set(&cfg, "cache-control", "/ no-store", "f:3", err, sizeof(err)), 0);
	cr_assert_eq(config_set(&cfg, "add_header", "X-A: 1", "f:4", err, sizeof(err)), 0);
	cr_assert_eq(config_set(&cfg, "add_header", "X-B: 2", "f:5", err, sizeof(err)), 0);
	cr_assert_eq(config_set(&cfg, "autoindex_format", "JSON", "f:6", err, sizeof(err)), 0);
	cr_assert(!cfg.site.precompressed);
	cr_assert_eq(cfg.site.ncache, 2);
	cr_assert_str_eq(cfg.site.cache[1].glob, "/");
	cr_assert_eq(cfg.site.extra_len, strlen("X-A: 1\r\nX-B: 2\r\n"));
	cr_assert_eq(cfg.site.autoindex_format, SITE_LIST_JSON);
}

Test(config_site, errors_name_where_and_key)
{
	config_defaults(&cfg);
	cr_assert_eq(config_set(&cfg, "add_header", "Server: x", "f.conf:7", err, sizeof(err)), -1);
	cr_assert_str_eq(err, "f.conf:7: add_header: Server is set by the server");
	cr_assert_eq(config_set(&cfg, "autoindex_format", "xml", "--autoindex-format", err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "--autoindex-format: expected \"html\" or \"json\", got \"xml\"");
}

Test(config_site, flags_with_spaces)
{
	char *argv[] = { "preforkd", "--root=/tmp", "--add-header", "X-Frame-Options: DENY",
		"--cache-control=/assets/* public, max-age=60", NULL };

	cr_assert_eq(config_from_args(&cfg, 5, argv, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(cfg.site.extra, "X-Frame-Options: DENY\r\n", cfg.site.extra_len), 0);
	cr_assert_str_eq(cfg.site.cache[0].value, "public, max-age=60");
}

Test(config_site, mime_types_checked_at_validate)
{
	char *argv[] = { "preforkd", "--root=/tmp", "--mime-types=/nonexistent.types", NULL };

	cr_assert_eq(config_from_args(&cfg, 3, argv, NULL, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "mime_types: /nonexistent.types: No such file or directory");
}
