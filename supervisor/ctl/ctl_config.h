/*
 * preforkctl's reading of a config file that the server would refuse
 * (issue 12 item 8): the operator must still be able to find and stop the
 * running server after a broken edit, and the keys it needs must be read
 * exactly as preforkd reads them (quotes, comments), by the same parser.
 */
#ifndef PREFORKD_CTL_CONFIG_H
#define PREFORKD_CTL_CONFIG_H

#include "supervisor/config.h"

/*
 * Loads path into conf (over its defaults) with supervisor/config.c,
 * leaving out every line the parser refuses and reading on. Returns the
 * number of lines left out, or -1 when the file cannot be read at all.
 */
int ctl_config_load_lenient(struct config *conf, const char *path);

#endif
