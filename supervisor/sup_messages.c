/*
 * What workers send up: READY, HEARTBEAT and the final report on each
 * channel, cumulative counters on the shared stats queue. Everything is
 * decoded and checked; a malformed message is logged, counted and dropped,
 * never fatal to the supervisor.
 */
#include "supervisor/sup_internal.h"

#include "ipc/channel.h"
#include "ipc/base/log.h"
#include "ipc/mqueue.h"

static void
sup_take_stats(struct sup *s, const struct msg_stats *st)
{
	struct proc *p = procs_by_pid(&s->procs, st->pid);

	/* A report from a worker already reaped is older than the final one
	 * retired with it; cumulative counters make dropping it exact. */
	if (p == NULL || p->generation != st->generation || p->slot != (int)st->slot)
		return;
	procs_report(p, &st->c);
}

void
sup_drain_stats(struct sup *s)
{
	enum msg_result why = MSG_OK;
	struct msg m;

	if (s->statsq == (mqd_t)-1)
		return;
	for (int i = 0; i < 100000; i++) {
		switch (mqueue_recv(s->statsq, &m, &why)) {
		case CHANNEL_MSG:
			if (m.h.type == MSG_STATS) {
				sup_take_stats(s, &m.u.stats);
				break;
			}
			why = MSG_ERR_TYPE;
			/* FALLTHROUGH */
		case CHANNEL_BAD:
			log_warnx("stats queue: dropped malformed message: %s",
			    msg_result_name(why));
			s->dropped++;
			break;
		case CHANNEL_AGAIN:
			return;
		default:
			log_warn("stats queue: mq_receive");
			return;
		}
	}
}

static void
sup_channel_msg(struct sup *s, struct proc *p, const struct msg *m, int64_t now)
{
	switch (m->h.type) {
	case MSG_READY:
		procs_ready(p, now);
		log_debug("worker %d (pid %d) ready", p->slot, (int)p->pid);
		break;
	case MSG_HEARTBEAT:
		procs_heartbeat(p, now);
		break;
	case MSG_STATS:
		sup_take_stats(s, &m->u.stats);
		break;
	default:
		log_warnx("worker %d channel: dropped malformed message: unexpected %s",
		    p->slot, msg_type_name(m->h.type));
		s->dropped++;
		break;
	}
}

/* Reads everything p has sent; closes the channel at EOF. */
void
sup_read_channel(struct sup *s, struct proc *p, int64_t now)
{
	enum msg_result why = MSG_OK;
	struct msg m;

	for (int i = 0; i < 1024 && p->chan_fd != -1; i++) {
		switch (channel_recv(p->chan_fd, &m, &why)) {
		case CHANNEL_MSG:
			sup_channel_msg(s, p, &m, now);
			break;
		case CHANNEL_BAD:
			log_warnx("worker %d channel: dropped malformed message: %s",
			    p->slot, msg_result_name(why));
			s->dropped++;
			break;
		case CHANNEL_AGAIN:
			return;
		case CHANNEL_EOF:
			sup_close_channel(s, p);
			return;
		default:
			log_warn("worker %d channel: recv", p->slot);
			sup_close_channel(s, p);
			return;
		}
	}
}
