/* Shell-style patterns for cache_control rules. */
#include <criterion/criterion.h>
#include <string.h>

#include "server/glob.h"

static int
m(const char *pat, const char *s)
{
	return glob_match(pat, s, strlen(s));
}

Test(glob, star_crosses_slashes)
{
	cr_assert(m("*.html", "/docs/a.html"));
	cr_assert(m("*.html", "/a.html"));
	cr_assert(!m("*.html", "/a.html.gz"));
	cr_assert(m("/assets/*", "/assets/js/app.js"));
	cr_assert(m("/assets/*", "/assets/"));
	cr_assert(!m("/assets/*", "/assets"));
	cr_assert(!m("/assets/*", "/other/assets/x"));
	cr_assert(m("*", ""));
	cr_assert(m("*", "/"));
	cr_assert(m("/*/x/*.js", "/a/b/x/c/d.js"));
	cr_assert(!m("/*/x/*.js", "/a/b/x/c/d.jsx"));
}

Test(glob, exact_and_question)
{
	cr_assert(m("/", "/"));
	cr_assert(!m("/", "/a"));
	cr_assert(m("/a?c", "/abc"));
	cr_assert(!m("/a?c", "/ac"));
	cr_assert(!m("/A", "/a"));
	cr_assert(m("", ""));
	cr_assert(!m("", "/"));
}

Test(glob, classes)
{
	cr_assert(m("/v[0-9].js", "/v7.js"));
	cr_assert(!m("/v[0-9].js", "/vx.js"));
	cr_assert(m("/v[!0-9].js", "/vx.js"));
	cr_assert(m("/v[^0-9].js", "/vx.js"));
	cr_assert(!m("/v[!0-9].js", "/v1.js"));
	cr_assert(m("/[]]", "/]"));
	cr_assert(m("/[a-]", "/-"));
	cr_assert(m("*.[ch]", "/x.h"));
	/* unclosed: a literal '[' */
	cr_assert(m("/[ab", "/[ab"));
}

Test(glob, escapes)
{
	cr_assert(m("/a\\*b", "/a*b"));
	cr_assert(!m("/a\\*b", "/axb"));
	cr_assert(m("/\\?", "/?"));
}

Test(glob, backtracking_is_bounded)
{
	char s[4097];

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	/* The classic exponential case for naive matchers. */
	cr_assert(!m("*a*a*a*a*a*a*a*a*a*a*b", s));
	cr_assert(m("*a*a*a*a*a*a*a*a*a*a", s));
}

Test(glob, check)
{
	cr_assert_eq(glob_check("/assets/*"), 0);
	cr_assert_eq(glob_check("*.[ch]"), 0);
	cr_assert_eq(glob_check("/[]]"), 0);
	cr_assert_eq(glob_check("/[ab"), -1);
	cr_assert_eq(glob_check("/a\\"), -1);
}
