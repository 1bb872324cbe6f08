/*
 * The control queue (preforkctl -> supervisor): each CONTROL message becomes
 * the same intent its signal would (intents.h).
 */
#ifndef PREFORKD_CONTROL_H
#define PREFORKD_CONTROL_H

#include <mqueue.h>
#include <stdint.h>

#include "ipc/msg.h"
#include "supervisor/intents.h"

/* Records one decoded control message as an intent. Returns 0, or -1 for a
 * command it does not know or an argument out of range (the caller counts it
 * as malformed). Relative requests add up saturating at +-MSG_SCALE_MAX. */
int control_intent(const struct msg_control *c, struct intents *in);
/* Reads every pending message from q. Malformed ones are logged and added
 * to *dropped; the supervisor keeps running whatever arrives. */
void control_drain(mqd_t q, struct intents *in, uint64_t *dropped);

#endif
