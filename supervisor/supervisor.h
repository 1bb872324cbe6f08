/*
 * The supervisor: binds, forks the workers and keeps them healthy
 * ("Processes" and "The life of a reload" in docs/ARCHITECTURE.md). Every
 * input (signal, control message) becomes an intent, and the loop acts on
 * intents in one place (intents.h).
 */
#ifndef PREFORKD_SUPERVISOR_H
#define PREFORKD_SUPERVISOR_H

#include "supervisor/config.h"

/*
 * Runs the supervisor with an already validated configuration until it is
 * told to stop. argv is kept (a deep copy made by the caller) and parsed
 * again on every reload. Returns the process exit status.
 */
int supervisor_run(struct config *conf, int argc, char **argv);

#endif
