/*
 * The descriptor budget of a worker: a per-worker connection limit, with
 * a reserve against fd exhaustion.
 *
 * A worker needs descriptors besides its connections: stdio, the root,
 * epoll, signalfd, channel, stats queue, logs, listeners, the open-file
 * cache, and a few at a time for files and listings being opened. Those
 * are kept in reserve: the connection limit is what RLIMIT_NOFILE leaves
 * after them (never more than max_connections), so a worker at its limit
 * stops accepting but can still open the files its connections ask for.
 */
#ifndef PREFORKD_FDLIMIT_H
#define PREFORKD_FDLIMIT_H

#define FDLIMIT_FIXED 32          /* stdio, root, epoll, signalfd, channel, queue, logs */
#define FDLIMIT_FILE_CACHE 256    /* the worker's open-file cache, all slots open */
#define FDLIMIT_SPARE 64          /* files, one-off entries and listings in flight */

/* Raises the soft RLIMIT_NOFILE to the hard one (workers inherit it).
 * Returns the soft limit in force afterwards (LONG_MAX when unlimited). */
long fdlimit_raise(void);
/* The soft RLIMIT_NOFILE now (LONG_MAX when unlimited). */
long fdlimit_current(void);
/* The connections one worker may hold: max_connections, or less when the
 * fd limit nofile minus the reserve (for nlisten listeners) allows less;
 * at least 1. */
int fdlimit_conns(int max_connections, int nlisten, long nofile);

#endif
