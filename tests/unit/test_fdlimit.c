/* A worker's descriptor budget: connections first, then the open-file
 * cache, never below its floor of 256. */
#include <criterion/criterion.h>
#include <limits.h>

#include "server/fdlimit.h"

/* 32 fixed + 64 spare + one listener */
#define BASE 97

Test(fdlimit, a_roomy_limit_gives_the_cache_all_it_asks_for)
{
	cr_assert_eq(fdlimit_file_cache(1024, 16384, 1, 20000), 16384);
	cr_assert_eq(fdlimit_reserve(1024, 16384, 1, 20000), BASE + 16384);
	cr_assert_eq(fdlimit_conns(1024, 16384, 1, 20000), 1024);
	cr_assert_eq(fdlimit_file_cache(1024, 16384, 1, LONG_MAX), 16384);
	cr_assert_eq(fdlimit_conns(1024, 16384, 1, LONG_MAX), 1024);
}

Test(fdlimit, the_cache_takes_what_connections_leave)
{
	cr_assert_eq(fdlimit_file_cache(1024, 16384, 1, 4096), 4096 - BASE - 1024);
	cr_assert_eq(fdlimit_conns(1024, 16384, 1, 4096), 1024);
	cr_assert_eq(fdlimit_file_cache(1024, 16384, 3, 4096), 4096 - BASE - 2 - 1024);
}

Test(fdlimit, a_tight_limit_keeps_the_floor_and_takes_from_connections)
{
	cr_assert_eq(fdlimit_file_cache(1024, 16384, 1, 1024), 256);
	cr_assert_eq(fdlimit_conns(1024, 16384, 1, 1024), 1024 - BASE - 256);
	cr_assert_eq(fdlimit_file_cache(1024, 16384, 1, 400), 256);
	cr_assert_eq(fdlimit_conns(1024, 16384, 1, 400), 400 - BASE - 256);
	/* Nothing left at all: one connection still. */
	cr_assert_eq(fdlimit_conns(1024, 16384, 1, 100), 1);
}

Test(fdlimit, a_small_open_file_cache_is_kept_as_asked)
{
	cr_assert_eq(fdlimit_file_cache(1024, 20, 1, 20000), 20);
	cr_assert_eq(fdlimit_file_cache(1024, 20, 1, 400), 20);
	cr_assert_eq(fdlimit_conns(1024, 20, 1, 400), 400 - BASE - 20);
}
