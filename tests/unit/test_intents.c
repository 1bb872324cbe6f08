/* Signals and control commands to intents: each input raises exactly the
 * intent the signal table of the design names, and nothing else, so the
 * table-driven mapping cannot drift from what the switch did. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ipc/msg.h"
#include "supervisor/control.h"
#include "supervisor/signals.h"

/* Every field of in that is set, as one comparable string. */
static void
intents_text(const struct intents *in, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s%s%s abs=%d rel=%d req=%d drain=%d",
	    in->reap ? "reap " : "", in->reload ? "reload " : "",
	    in->stop ? "stop " : "", in->quit ? "quit " : "",
	    in->reopen ? "reopen " : "", in->scale_set ? "set " : "",
	    in->upgrade ? "upgrade " : "", in->scale_abs, in->scale_rel,
	    (int)in->upgrade_requester, in->drain);
}

static void
expect_signal(int signo, const char *want)
{
	struct intents in;
	char got[128];

	memset(&in, 0, sizeof(in));
	signals_intent(signo, &in);
	intents_text(&in, got, sizeof(got));
	cr_expect_str_eq(got, want, "signal %d", signo);
}

Test(intents, each_signal_raises_its_intent)
{
	expect_signal(SIGCHLD, "reap  abs=0 rel=0 req=0 drain=0");
	expect_signal(SIGHUP, "reload  abs=0 rel=0 req=0 drain=0");
	expect_signal(SIGTERM, "stop  abs=0 rel=0 req=0 drain=0");
	expect_signal(SIGQUIT, "stop  abs=0 rel=0 req=0 drain=0");
	expect_signal(SIGINT, "quit  abs=0 rel=0 req=0 drain=0");
	expect_signal(SIGUSR1, "reopen  abs=0 rel=0 req=0 drain=0");
	expect_signal(SIGUSR2, "upgrade  abs=0 rel=0 req=0 drain=0");
	expect_signal(SIGTTIN, " abs=0 rel=1 req=0 drain=0");
	expect_signal(SIGTTOU, " abs=0 rel=-1 req=0 drain=0");
	expect_signal(SIGWINCH, " abs=0 rel=0 req=0 drain=0");
	expect_signal(0, " abs=0 rel=0 req=0 drain=0");
}

Test(intents, scale_signals_add_up)
{
	struct intents in;

	memset(&in, 0, sizeof(in));
	signals_intent(SIGTTIN, &in);
	signals_intent(SIGTTIN, &in);
	signals_intent(SIGTTIN, &in);
	signals_intent(SIGTTOU, &in);
	cr_expect_eq(in.scale_rel, 2);
}

static void
expect_command(unsigned cmd, int arg, int rc, const char *want)
{
	struct msg_control c = { .command = cmd, .arg = arg };
	struct intents in;
	char got[128];

	memset(&in, 0, sizeof(in));
	cr_expect_eq(control_intent(&c, &in), rc, "command %u", cmd);
	intents_text(&in, got, sizeof(got));
	cr_expect_str_eq(got, want, "command %u", cmd);
}

Test(intents, each_command_raises_its_intent)
{
	expect_command(CTL_SCALE_ABS, 7, 0, "set  abs=7 rel=0 req=0 drain=0");
	expect_command(CTL_SCALE_REL, -3, 0, " abs=0 rel=-3 req=0 drain=0");
	expect_command(CTL_RELOAD, 0, 0, "reload  abs=0 rel=0 req=0 drain=0");
	expect_command(CTL_STOP, 0, 0, "stop  abs=0 rel=0 req=0 drain=0");
	expect_command(CTL_QUIT, 0, 0, "quit  abs=0 rel=0 req=0 drain=0");
	expect_command(CTL_REOPEN, 0, 0, "reopen  abs=0 rel=0 req=0 drain=0");
	expect_command(CTL_UPGRADE, 4242, 0, "upgrade  abs=0 rel=0 req=4242 drain=0");
	expect_command(CTL_UPGRADE, 1, 0, "upgrade  abs=0 rel=0 req=0 drain=0");
	expect_command(CTL_DRAIN, 0, 0, " abs=0 rel=0 req=0 drain=1");
	expect_command(CTL_UNDRAIN, 0, 0, " abs=0 rel=0 req=0 drain=-1");
	expect_command(0, 0, -1, " abs=0 rel=0 req=0 drain=0");
	expect_command(10, 0, -1, " abs=0 rel=0 req=0 drain=0");
	expect_command(99, 0, -1, " abs=0 rel=0 req=0 drain=0");
}

/* An absolute count replaces the relative steps gathered before it. */
Test(intents, absolute_scale_replaces_relative)
{
	struct msg_control c = { .command = CTL_SCALE_REL, .arg = 5 };
	struct intents in;

	memset(&in, 0, sizeof(in));
	cr_assert_eq(control_intent(&c, &in), 0);
	c.command = CTL_SCALE_ABS;
	c.arg = 2;
	cr_assert_eq(control_intent(&c, &in), 0);
	cr_expect_eq(in.scale_rel, 0);
	cr_expect_eq(in.scale_abs, 2);
}
