/* The agent-check answer (supervisor/agent.c) and its place in the snapshot. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/snapshot.h"
#include "supervisor/agent.h"

struct agent_case {
	bool drained;
	struct agent_load l;
	const char *state, *answer, *note;
};

static const struct agent_case agent_cases[] = {
	{ false, { 4, 4, 4, 0, 100, false }, "ready", "up ready 100%", "idle" },
	{ false, { 4, 4, 4, 100, 100, false }, "ready", "up ready 75%", "a quarter busy" },
	{ false, { 4, 4, 4, 399, 100, false }, "ready", "up ready 1%", "one slot left rounds to 1" },
	{ false, { 4, 4, 4, 400, 100, false }, "ready", "up ready 1%", "full: still up, at 1%" },
	{ false, { 4, 4, 4, 5000, 100, false }, "ready", "up ready 1%", "over full" },
	{ false, { 4, 2, 2, 0, 100, false }, "ready", "up ready 50%", "two in backoff" },
	{ false, { 4, 4, 3, 0, 100, false }, "ready", "up ready 75%", "one late heartbeat" },
	{ false, { 2, 3, 3, 0, 10, false }, "ready", "up ready 100%", "scaling down: more ready than target" },
	{ false, { 1, 1, 1, 3, 10, false }, "ready", "up ready 70%", "small max_connections" },
	{ false, { 4, 4, 0, 0, 100, false }, "ready", "up ready 1%", "all late" },
	{ false, { 4, 0, 0, 0, 100, false }, "down", "down", "none ready" },
	{ true, { 4, 4, 4, 0, 100, false }, "drain", "drain", "drained" },
	{ false, { 4, 4, 4, 0, 100, true }, "drain", "drain", "graceful stop" },
	{ true, { 4, 0, 0, 0, 100, false }, "drain", "drain", "drain wins over down" },
	{ false, { 0, 1, 1, 0, 0, false }, "ready", "up ready 100%", "degenerate limits" },
};

Test(agent, decide)
{
	for (size_t i = 0; i < sizeof(agent_cases) / sizeof(agent_cases[0]); i++) {
		const struct agent_case *c = &agent_cases[i];
		char state[AGENT_STATE_LEN], answer[AGENT_ANSWER_LEN];

		agent_decide(c->drained, &c->l, state, answer);
		cr_expect_str_eq(state, c->state, "%s", c->note);
		cr_expect_str_eq(answer, c->answer, "%s", c->note);
	}
}

Test(agent, load_from_table)
{
	static struct procs t;
	struct config c = { .max_connections = 10, .worker_timeout_ms = 30000 };
	struct agent_load l;
	struct proc *p;

	procs_init(&t);
	p = procs_add(&t, 0, 1, 100, -1, 0, 0);
	procs_ready(p, 0);
	p->latest.connections_active = 4;
	p = procs_add(&t, 1, 1, 101, -1, 0, 0);
	procs_ready(p, 0);
	p->heartbeat_ms = -20000;   /* silent for more than half the timeout */
	p->latest.connections_active = 9;
	procs_add(&t, 2, 1, 102, -1, 0, 0);  /* still starting */
	agent_load_from(&t, 3, &c, false, 1000, &l);
	cr_expect_eq(l.target, 3);
	cr_expect_eq(l.ready, 2);
	cr_expect_eq(l.healthy, 1);
	cr_expect_eq(l.active, 4);
	cr_expect_eq(l.max_connections, 10);
}

Test(agent, snapshot_field)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	char buf[4096];

	cr_assert_not_null(s);
	cr_assert_gt(snapshot_json(s, buf, sizeof(buf)), 0);
	cr_expect_null(strstr(buf, "\"agent\""), "absent without agent_listen");
	strcpy(s->agent_state, "ready");
	strcpy(s->agent_answer, "up ready 75%");
	cr_assert_gt(snapshot_json(s, buf, sizeof(buf)), 0);
	cr_expect_not_null(strstr(buf, ",\"agent\":{\"state\":\"ready\",\"answer\":\"up ready 75%\"},"
	    "\"workers\":["), "%s", buf);
	cr_assert_gt(snapshot_text(s, buf, sizeof(buf)), 0);
	cr_expect_not_null(strstr(buf, "\nagent.state: ready\nagent.answer: up ready 75%\n"), "%s", buf);
	free(s);
}
