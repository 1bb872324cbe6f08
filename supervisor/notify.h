/*
 * systemd readiness notification (sd_notify protocol) without libsystemd:
 * one datagram to $NOTIFY_SOCKET. Does nothing when it is not set.
 */
#ifndef PREFORKD_NOTIFY_H
#define PREFORKD_NOTIFY_H

/* Sends state (e.g. "READY=1", "RELOADING=1", "STOPPING=1", "MAINPID=42").
 * Returns 0 (also when there is no NOTIFY_SOCKET), or -1 with errno. */
int notify_systemd(const char *state);

#endif
