/*
 * The descriptor budget of a worker: a per-worker connection limit and
 * an open-file cache size, with a reserve against fd exhaustion.
 *
 * A worker needs descriptors besides its connections: stdio, the root,
 * epoll, signalfd, channel, stats queue, logs, listeners, the open-file
 * cache, and a few at a time for files and listings being opened. Those
 * are kept in reserve: the connection limit is what RLIMIT_NOFILE leaves
 * after them (never more than max_connections), so a worker at its limit
 * stops accepting but can still open the files its connections ask for.
 *
 * Connections come first: the open-file cache holds open_file_cache
 * entries when the limit has room for them beside max_connections, and
 * otherwise what room there is, but never fewer than FDLIMIT_FILE_CACHE
 * (or open_file_cache, when that is smaller), which then come out of the
 * connections' share as before the cache could grow.
 */
#ifndef PREFORKD_FDLIMIT_H
#define PREFORKD_FDLIMIT_H

#define FDLIMIT_FIXED 32          /* stdio, root, epoll, signalfd, channel, queue, logs */
#define FDLIMIT_FILE_CACHE 256    /* the open-file cache's floor, all slots open */
#define FDLIMIT_SPARE 64          /* files, one-off entries and listings in flight */

/* Raises the soft RLIMIT_NOFILE to the hard one (workers inherit it).
 * Returns the soft limit in force afterwards (LONG_MAX when unlimited). */
long fdlimit_raise(void);
/* The soft RLIMIT_NOFILE now (LONG_MAX when unlimited). */
long fdlimit_current(void);
/* The entries of one worker's open-file cache (see above). */
int fdlimit_file_cache(int max_connections, int open_file_cache, int nlisten,
    long nofile);
/* The descriptors kept out of the connections' share: the fixed ones, the
 * open-file cache, the spare and the listeners. */
long fdlimit_reserve(int max_connections, int open_file_cache, int nlisten,
    long nofile);
/* The connections one worker may hold: max_connections, or less when the
 * fd limit nofile minus the reserve allows less; at least 1. */
int fdlimit_conns(int max_connections, int open_file_cache, int nlisten,
    long nofile);

#endif
