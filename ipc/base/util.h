/* The two macros libc lacks and the BSDs and Linux have. */
#ifndef PREFORKD_UTIL_H
#define PREFORKD_UTIL_H

#include <stddef.h>

#ifndef nitems
#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* The struct that holds member at ptr. */
#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#endif

#endif
