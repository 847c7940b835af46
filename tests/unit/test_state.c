/* state.json as the runtime reads it back (state_parse, the reader of
 * state_read): a corrupt file is refused with a one-line error. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/state.h"

#define GOOD "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"pid\":4913,\"pid_start\":1152317," \
             "\"bundle\":\"/b\",\"rootfs\":\"/b/rootfs\",\"cgroup_path\":\"x/c1\"," \
             "\"created\":\"2026-01-01T00:00:00Z\",\"owner\":\"0\",\"userns\":false," \
             "\"annotations\":{\"a\":\"b\"}}"

static int parse(const char *text, cstate *st, capsa_err *e)
{
    return state_parse(text, strlen(text), st, e);
}

static void assert_one_line(const capsa_err *e)
{
    assert_true(e->msg[0] != 0);
    for (const char *p = e->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            fail_msg("control character 0x%02x in \"%s\"", *p, e->msg);
}

static void test_good(void **state)
{
    (void)state;
    cstate st;
    capsa_err e = {0};
    assert_int_equal(parse(GOOD, &st, &e), 0);
    assert_string_equal(st.id, "c1");
    assert_string_equal(st.bundle, "/b");
    assert_string_equal(st.cgroup_path, "x/c1");
    assert_int_equal(st.pid, 4913);
    assert_int_equal(st.pid_start, 1152317);
    assert_int_equal(st.annotations.n, 1);
    assert_string_equal(st.annotations.v[0].value, "b");
    state_free(&st);
}

/* Found by tests/fuzz: jansson quotes the bad byte near the error, and a
 * control character there went into the message raw. */
static void test_json_error_one_line(void **state)
{
    (void)state;
    static const char *const bad[] = {"{\"id\":\"c1\",\x06}", "{\"id\":\"c\x01\"}", "{\n\x7f", "",
                                      "[1]", "\"str\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cstate st;
        capsa_err e = {0};
        assert_int_equal(parse(bad[i], &st, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "state.json is corrupt: "));
        assert_one_line(&e);
        assert_null(st.id);
    }
    cstate st;
    capsa_err e = {0};
    assert_int_equal(parse("[]", &st, &e), -EINVAL);
    assert_string_equal(e.msg, "state.json is corrupt: not an object");
}

/* A pid beyond pid_t would wrap into another process (4294967297 is 1). */
static void test_pid_range(void **state)
{
    (void)state;
    static const char *const bad[] = {"4294967297", "-1", "2147483648"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"id\":\"c1\",\"bundle\":\"/b\",\"pid\":%s}", bad[i]);
        cstate st;
        capsa_err e = {0};
        assert_int_equal(parse(text, &st, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "pid"));
        assert_null(st.id);
    }
    cstate st;
    capsa_err e = {0};
    assert_int_equal(parse("{\"id\":\"c1\",\"bundle\":\"/b\",\"pid\":2147483647}", &st, &e), 0);
    assert_int_equal(st.pid, 2147483647);
    state_free(&st);
}

static void test_missing_id(void **state)
{
    (void)state;
    cstate st;
    capsa_err e = {0};
    assert_int_equal(parse("{\"bundle\":\"/b\",\"annotations\":{\"k\":1}}", &st, &e), -EINVAL);
    assert_string_equal(e.msg, "state.json is corrupt: missing id or bundle");
    assert_null(st.annotations.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_json_error_one_line),
        cmocka_unit_test(test_pid_range),
        cmocka_unit_test(test_missing_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
