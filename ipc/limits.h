/* Limits every process must agree on. */
#ifndef PREFORKD_LIMITS_H
#define PREFORKD_LIMITS_H

#define LIMIT_WORKERS 1024   /* workers and max_workers */

#endif
