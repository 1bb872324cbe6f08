/* Control-message ranges (issue 12 item 5): a scale argument outside the
 * configurable worker range is refused at decode and again by
 * control_intent, and no sum of relative requests can overflow. */
#include <criterion/criterion.h>
#include <limits.h>
#include <string.h>

#include "ipc/msg.h"
#include "supervisor/control.h"

static enum msg_result
decode_control(unsigned cmd, int arg)
{
	struct msg m, out;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.u.control.command = cmd;
	m.u.control.arg = arg;
	len = msg_encode(&m, MSG_CONTROL);
	return msg_decode(&m, len, &out);
}

Test(control_ranges, decode_scale_abs_bounds)
{
	cr_expect_eq(decode_control(CTL_SCALE_ABS, 0), MSG_OK);
	cr_expect_eq(decode_control(CTL_SCALE_ABS, 1024), MSG_OK);
	cr_expect_eq(decode_control(CTL_SCALE_ABS, 1025), MSG_ERR_VALUE);
	cr_expect_eq(decode_control(CTL_SCALE_ABS, INT_MAX), MSG_ERR_VALUE);
	cr_expect_eq(decode_control(CTL_SCALE_ABS, -1), MSG_ERR_VALUE);
	cr_expect_eq(decode_control(CTL_SCALE_ABS, INT_MIN), MSG_ERR_VALUE);
}

Test(control_ranges, decode_scale_rel_bounds)
{
	cr_expect_eq(decode_control(CTL_SCALE_REL, 1024), MSG_OK);
	cr_expect_eq(decode_control(CTL_SCALE_REL, -1024), MSG_OK);
	cr_expect_eq(decode_control(CTL_SCALE_REL, 1025), MSG_ERR_VALUE);
	cr_expect_eq(decode_control(CTL_SCALE_REL, -1025), MSG_ERR_VALUE);
	cr_expect_eq(decode_control(CTL_SCALE_REL, INT_MAX), MSG_ERR_VALUE);
	cr_expect_eq(decode_control(CTL_SCALE_REL, INT_MIN), MSG_ERR_VALUE);
}

Test(control_ranges, intent_refuses_out_of_range)
{
	struct msg_control c = { .command = CTL_SCALE_REL, .arg = INT_MAX };
	struct intents in;

	memset(&in, 0, sizeof(in));
	cr_expect_eq(control_intent(&c, &in), -1);
	c.arg = INT_MIN;
	cr_expect_eq(control_intent(&c, &in), -1);
	c.command = CTL_SCALE_ABS;
	c.arg = INT_MAX;
	cr_expect_eq(control_intent(&c, &in), -1);
	cr_expect_eq(in.scale_rel, 0);
	cr_expect(!in.scale_set);
}

Test(control_ranges, relative_requests_saturate)
{
	struct msg_control c = { .command = CTL_SCALE_REL, .arg = 1024 };
	struct intents in;

	memset(&in, 0, sizeof(in));
	for (int i = 0; i < 5000; i++)
		cr_assert_eq(control_intent(&c, &in), 0);
	cr_expect_eq(in.scale_rel, 1024);
	c.arg = -1024;
	for (int i = 0; i < 5000; i++)
		cr_assert_eq(control_intent(&c, &in), 0);
	cr_expect_eq(in.scale_rel, -1024);
	c.arg = 3;
	cr_assert_eq(control_intent(&c, &in), 0);
	cr_expect_eq(in.scale_rel, -1021);
}
