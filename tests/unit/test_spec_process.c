/* process.json (`capsa exec --process FILE`): spec_parse_process and
 * spec_validate_process, which refuses what config.json refuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "spec/spec.h"

#define BASE "\"args\": [\"true\"], \"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": 0}"

/* Parse and validate; the error message, or "" when both pass. */
static const char *check(const char *json, capsa_err *e)
{
    spec *s = NULL;
    int r = spec_parse_process(json, strlen(json), "process.json", &s, e);
    if (r == 0) {
        r = spec_validate_process(s, e);
        spec_free(s);
    }
    if (r == 0)
        return "";
    assert_int_equal(-r, e->code);
    assert_null(strchr(e->msg, '\n'));
    return e->msg;
}

static void test_valid(void **state)
{
    (void)state;
    capsa_err e = {0};
    assert_string_equal(check("{" BASE ", \"env\": [\"A=b\"], \"noNewPrivileges\": true}", &e), "");
    assert_string_equal(check("{" BASE ", \"apparmorProfile\": \"\", \"selinuxLabel\": \"\"}", &e),
                        "");
}

/* Fields no code implements are refused, where they were written (without
 * the "process." a config.json would have in front). */
static void test_unsupported_refused(void **state)
{
    (void)state;
    capsa_err e = {0};
    assert_string_equal(check("{" BASE ", \"scheduler\": {\"policy\": \"SCHED_OTHER\"}}", &e),
                        "process.json:1:75: scheduler: not supported by capsa yet");
    assert_string_equal(
        check("{" BASE ", \"ioPriority\": {\"class\": \"IOPRIO_CLASS_BE\", \"priority\": 1}}", &e),
        "process.json:1:76: ioPriority: not supported by capsa yet");
    assert_string_equal(check("{" BASE ", \"execCPUAffinity\": {\"final\": \"0\"}}", &e),
                        "process.json:1:81: execCPUAffinity: not supported by capsa yet");
    const char *m = check("{" BASE ", \"apparmorProfile\": \"p\"}", &e);
    assert_int_equal(e.code, ENOTSUP);
    assert_non_null(strstr(m, "process.json:1:81: apparmorProfile: "));
    m = check("{" BASE ", \"selinuxLabel\": \"l\"}", &e);
    assert_int_equal(e.code, ENOTSUP);
    assert_non_null(strstr(m, "process.json:1:78: selinuxLabel: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_unsupported_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
