#include "server/fdlimit.h"

#include <limits.h>
#include <sys/resource.h>

static long
fdlimit_value(rlim_t v)
{
	return v == RLIM_INFINITY || v > (rlim_t)LONG_MAX ? LONG_MAX : (long)v;
}

long
fdlimit_current(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	return fdlimit_value(rl.rlim_cur);
}

long
fdlimit_raise(void)
{
	struct rlimit rl;

	/* Failure leaves the soft limit as it was: the budget follows it. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	return fdlimit_current();
}

int
fdlimit_file_cache(int max_connections, int open_file_cache, int nlisten,
    long nofile)
{
	long room = nofile - FDLIMIT_FIXED - FDLIMIT_SPARE - nlisten - max_connections;

	if (room < FDLIMIT_FILE_CACHE)
		room = FDLIMIT_FILE_CACHE;
	return room < open_file_cache ? (int)room : open_file_cache;
}

long
fdlimit_reserve(int max_connections, int open_file_cache, int nlisten, long nofile)
{
	return FDLIMIT_FIXED + FDLIMIT_SPARE + nlisten +
	    fdlimit_file_cache(max_connections, open_file_cache, nlisten, nofile);
}

int
fdlimit_conns(int max_connections, int open_file_cache, int nlisten, long nofile)
{
	long room = nofile - fdlimit_reserve(max_connections, open_file_cache,
	    nlisten, nofile);

	if (max_connections > 0 && room > max_connections)
		room = max_connections;
	return room < 1 ? 1 : (int)room;
}
