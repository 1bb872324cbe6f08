/*
 * Control messages to intents. The queue is mode 0600, but whatever arrives
 * is still validated: a bad message is logged, counted and dropped.
 */
#include "supervisor/control.h"
#include "ipc/base/util.h"

#include "ipc/channel.h"
#include "ipc/base/log.h"
#include "ipc/mqueue.h"
#include "supervisor/config.h"

_Static_assert(MSG_SCALE_MAX == CONFIG_WORKERS_LIMIT,
    "a scale message carries exactly the configurable worker range");

/* The commands that only raise a flag; the others carry an argument. */
static const struct {
	uint32_t command;
	size_t flag;
} control_flags[] = {
	{ CTL_RELOAD, INTENT_FLAG(reload) },
	{ CTL_STOP, INTENT_FLAG(stop) },
	{ CTL_QUIT, INTENT_FLAG(quit) },
	{ CTL_REOPEN, INTENT_FLAG(reopen) },
};

/* Adds a relative request, saturating: the target is within 1..1024 anyway,
 * so a sum beyond +-MSG_SCALE_MAX means the same as the bound, and no burst
 * of messages can overflow it. */
static int
control_add_rel(int sum, int arg)
{
	sum += arg;
	if (sum > MSG_SCALE_MAX)
		return MSG_SCALE_MAX;
	return sum < -MSG_SCALE_MAX ? -MSG_SCALE_MAX : sum;
}

static int
control_flag(uint32_t command, struct intents *in)
{
	for (size_t i = 0; i < nitems(control_flags); i++)
		if (control_flags[i].command == command) {
			intents_raise(in, control_flags[i].flag);
			return 0;
		}
	return -1;
}

int
control_intent(const struct msg_control *c, struct intents *in)
{
	switch (c->command) {
	case CTL_SCALE_ABS:
		if (c->arg < 0 || c->arg > MSG_SCALE_MAX)
			return -1;
		in->scale_set = true;
		in->scale_abs = c->arg;
		in->scale_rel = 0;
		return 0;
	case CTL_SCALE_REL:
		if (c->arg < -MSG_SCALE_MAX || c->arg > MSG_SCALE_MAX)
			return -1;
		in->scale_rel = control_add_rel(in->scale_rel, c->arg);
		return 0;
	case CTL_UPGRADE:
		in->upgrade = true;
		in->upgrade_requester = c->arg > 1 ? (pid_t)c->arg : 0;
		return 0;
	case CTL_DRAIN:
	case CTL_UNDRAIN:
		in->drain = c->command == CTL_DRAIN ? 1 : -1;
		return 0;
	default:
		return control_flag(c->command, in);
	}
}

void
control_drain(mqd_t q, struct intents *in, uint64_t *dropped)
{
	enum msg_result why = MSG_OK;
	struct msg m;

	for (int i = 0; i < 1024; i++) {
		switch (mqueue_recv(q, &m, &why)) {
		case CHANNEL_MSG:
			if (m.h.type != MSG_CONTROL) {
				log_warnx("control queue: dropped malformed message: "
				    "unexpected type %s", msg_type_name(m.h.type));
				(*dropped)++;
			} else if (control_intent(&m.u.control, in) == -1) {
				log_warnx("control queue: dropped malformed message: "
				    "bad command %u arg %d", m.u.control.command,
				    m.u.control.arg);
				(*dropped)++;
			} else
				log_info("control: %s %d",
				    control_cmd_name(m.u.control.command), m.u.control.arg);
			break;
		case CHANNEL_BAD:
			log_warnx("control queue: dropped malformed message: %s",
			    msg_result_name(why));
			(*dropped)++;
			break;
		case CHANNEL_AGAIN:
			return;
		default:
			log_warn("control queue: mq_receive");
			return;
		}
	}
}
