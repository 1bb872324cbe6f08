/*
 * The channel: one SOCK_SEQPACKET socketpair per worker, the duplex Pipe of
 * multiprocessing. Commands go down, READY/HEARTBEAT (and the final STATS)
 * come up. Each message is one packet, so framing is free.
 */
#ifndef PREFORKD_CHANNEL_H
#define PREFORKD_CHANNEL_H

#include "msg.h"

enum channel_result {
	CHANNEL_MSG,   /* *out holds a valid message */
	CHANNEL_AGAIN, /* nothing to read now */
	CHANNEL_EOF,   /* the peer closed: it is gone */
	CHANNEL_BAD,   /* a malformed packet was read and dropped; *why says why */
	CHANNEL_ERROR, /* read failed; errno set */
};

/* fds[0] is the supervisor's end, fds[1] the worker's; both non-blocking and
 * close-on-exec. Returns 0, or -1 with errno. */
int channel_pair(int fds[2]);
/* Encodes and sends one message. Returns 0, or -1 with errno (EAGAIN when the
 * socket buffer is full). */
int channel_send(int fd, struct msg *m, enum msg_type type);
#define CHANNEL_MAX_FDS 4

/* channel_send with descriptors attached (SCM_RIGHTS); the caller keeps its
 * own copies. nfds 0..CHANNEL_MAX_FDS. */
int channel_send_fds(int fd, struct msg *m, enum msg_type type, const int *fds,
    int nfds);
/* channel_recv that also takes up to CHANNEL_MAX_FDS passed descriptors
 * (close-on-exec) into fds[], their count in *nfds, for a MSG result only:
 * any other result, or descriptors beyond CHANNEL_MAX_FDS, closes them. */
enum channel_result channel_recv_fds(int fd, struct msg *out, enum msg_result *why,
    int *fds, int *nfds);
/* Reads one packet; EINTR is retried. why may be NULL; it is set for MSG
 * (MSG_OK) and BAD. A packet longer than MSG_MAX_SIZE is BAD with
 * MSG_ERR_SIZE, never a truncated message; an empty packet from a live peer
 * is BAD with MSG_ERR_SHORT; EOF only once the peer has closed its end.
 * Passed descriptors are closed. */
enum channel_result channel_recv(int fd, struct msg *out, enum msg_result *why);

#endif
