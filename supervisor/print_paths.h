/*
 * preforkd --print-paths -c FILE prints where the server of FILE keeps
 * its pidfile and status pipe, and its graceful timeout, as "key=value"
 * lines; preforkctl runs it rather than parse configuration files itself.
 * The first stderr line is the parser's refusal when the exit is not 0.
 */
#ifndef PREFORKD_PRINT_PATHS_H
#define PREFORKD_PRINT_PATHS_H

enum print_paths_exit {
	PATHS_CLEAN = 0,     /* the file parses */
	PATHS_FAILED = 1,    /* it cannot be read: nothing on stdout */
	PATHS_LENIENT = 2,   /* refused lines were left out, the rest read */
};

int print_paths_main(int argc, char **argv);

#endif
