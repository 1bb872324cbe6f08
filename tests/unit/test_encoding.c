/* Accept-Encoding parsing and the choice of a precompressed sibling. */
#include <criterion/criterion.h>
#include <string.h>

#include "server/encoding.h"

#define ALL (ENC_BIT(ENC_BR) | ENC_BIT(ENC_ZSTD) | ENC_BIT(ENC_GZIP))

static struct enc_prefs
prefs(const char *s)
{
	struct enc_prefs p;

	enc_prefs_init(&p);
	if (s != NULL)
		enc_prefs_add(&p, s, strlen(s));
	return p;
}

static enum enc
choose(const char *s, unsigned avail)
{
	struct enc_prefs p = prefs(s);

	return enc_choose(&p, avail);
}

Test(encoding, no_header_means_identity_only)
{
	cr_assert_eq(choose(NULL, ALL), ENC_IDENTITY);
	cr_assert_eq(choose("", ALL), ENC_IDENTITY);
}

Test(encoding, ties_go_br_zstd_gzip)
{
	cr_assert_eq(choose("gzip, deflate, br, zstd", ALL), ENC_BR);
	cr_assert_eq(choose("gzip, zstd", ALL), ENC_ZSTD);
	cr_assert_eq(choose("gzip, br", ENC_BIT(ENC_GZIP) | ENC_BIT(ENC_ZSTD)), ENC_GZIP);
	cr_assert_eq(choose("*", ALL), ENC_BR);
	/* identity ties with a coding: the coding wins */
	cr_assert_eq(choose("identity, gzip", ALL), ENC_GZIP);
}

Test(encoding, qvalues_decide)
{
	cr_assert_eq(choose("br;q=0.5, gzip;q=0.8", ALL), ENC_GZIP);
	cr_assert_eq(choose("br;q=0.5, gzip;q=0.8, identity;q=0.9", ALL), ENC_IDENTITY);
	cr_assert_eq(choose("br;q=0.501, gzip;q=0.5", ALL), ENC_BR);
	cr_assert_eq(choose("gzip;q=1.000", ALL), ENC_GZIP);
	cr_assert_eq(choose("br;q=0, gzip", ALL), ENC_GZIP);
	cr_assert_eq(choose("br ; Q=0 , gzip ;q=0.1", ALL), ENC_GZIP);
}

Test(encoding, star_and_identity_zero)
{
	struct enc_prefs p = prefs("*;q=0");

	cr_assert_eq(enc_quality(&p, ENC_IDENTITY), 0);
	cr_assert_eq(enc_quality(&p, ENC_GZIP), 0);
	/* nothing acceptable: the file itself rather than a 406 */
	cr_assert_eq(enc_choose(&p, ALL), ENC_IDENTITY);
	p = prefs("identity;q=0, gzip;q=0.1");
	cr_assert_eq(enc_choose(&p, ENC_BIT(ENC_GZIP)), ENC_GZIP);
	p = prefs("*;q=0.3, gzip;q=0");
	cr_assert_eq(enc_quality(&p, ENC_GZIP), 0);
	cr_assert_eq(enc_quality(&p, ENC_BR), 300);
	cr_assert_eq(enc_quality(&p, ENC_IDENTITY), 300);
	cr_assert_eq(enc_choose(&p, ENC_BIT(ENC_GZIP)), ENC_IDENTITY);
}

Test(encoding, unlisted_coding_not_acceptable)
{
	struct enc_prefs p = prefs("gzip");

	cr_assert_eq(enc_quality(&p, ENC_BR), 0);
	cr_assert_eq(enc_quality(&p, ENC_IDENTITY), 1000);
	cr_assert_eq(choose("gzip", ENC_BIT(ENC_BR)), ENC_IDENTITY);
}

Test(encoding, case_aliases_and_first_mention)
{
	cr_assert_eq(choose("GZIP", ENC_BIT(ENC_GZIP)), ENC_GZIP);
	cr_assert_eq(choose("x-gzip", ENC_BIT(ENC_GZIP)), ENC_GZIP);
	cr_assert_eq(choose("Br", ENC_BIT(ENC_BR)), ENC_BR);
	/* the first mention counts */
	cr_assert_eq(choose("gzip;q=0, gzip", ENC_BIT(ENC_GZIP)), ENC_IDENTITY);
}

Test(encoding, bad_elements_are_ignored)
{
	struct enc_prefs p;

	/* q above 1, too many digits, junk: the element is dropped */
	cr_assert_eq(choose("br;q=2, gzip", ALL), ENC_GZIP);
	cr_assert_eq(choose("br;q=0.1234, gzip;q=0.2", ALL), ENC_GZIP);
	cr_assert_eq(choose("br;q=1.001", ALL), ENC_IDENTITY);
	cr_assert_eq(choose("br;q=, gzip", ALL), ENC_GZIP);
	cr_assert_eq(choose("br garbage, gzip", ALL), ENC_GZIP);
	cr_assert_eq(choose("\"br\", gzip", ALL), ENC_GZIP);
	cr_assert_eq(choose(",,, ,gzip,,", ALL), ENC_GZIP);
	/* other parameters are skipped */
	cr_assert_eq(choose("br;level=5;q=0.9, gzip;q=0.8", ALL), ENC_BR);
	p = prefs("identity;q=0.");
	cr_assert_eq(enc_quality(&p, ENC_IDENTITY), 0);
	p = prefs("gzip;q=0.75");
	cr_assert_eq(enc_quality(&p, ENC_GZIP), 750);
}

Test(encoding, list_spans_fields)
{
	struct enc_prefs p = prefs("identity;q=0");

	enc_prefs_add(&p, "br", 2);
	cr_assert_eq(enc_choose(&p, ALL), ENC_BR);
	cr_assert_eq(enc_quality(&p, ENC_IDENTITY), 0);
}

Test(encoding, names_and_suffixes)
{
	cr_assert_str_eq(enc_name(ENC_BR), "br");
	cr_assert_str_eq(enc_name(ENC_ZSTD), "zstd");
	cr_assert_str_eq(enc_name(ENC_GZIP), "gzip");
	cr_assert_null(enc_name(ENC_IDENTITY));
	cr_assert_str_eq(enc_suffix(ENC_ZSTD), ".zst");
	cr_assert(enc_is_sibling_name("a/app.js.gz", 11));
	cr_assert(enc_is_sibling_name("x.br", 4));
	cr_assert(enc_is_sibling_name("x.zst", 5));
	cr_assert(!enc_is_sibling_name("x.gzip", 6));
	cr_assert(!enc_is_sibling_name("gz", 2));
}

Test(encoding, unnamed_identity_has_no_weight)
{
	cr_assert_eq(choose("gzip;q=0.1", ENC_BIT(ENC_GZIP)), ENC_GZIP);
	cr_assert_eq(choose("gzip;q=1.0, identity; q=0.5, *;q=0", ALL), ENC_GZIP);
	cr_assert_eq(choose("gzip;q=0.4, identity;q=0.5", ALL), ENC_IDENTITY);
	cr_assert_eq(choose("gzip;q=0.4, *;q=0.5", ENC_BIT(ENC_GZIP)), ENC_IDENTITY);
}
