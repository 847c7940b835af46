/* The error type: every message capsa prints is one line, whatever text from
 * files (paths, names, JSON parser output) went into it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/err.h"

static void test_control_characters_escaped(void **state)
{
    (void)state;
    capsa_err e = {0};
    assert_int_equal(cerr_set(&e, EINVAL, "mount %s on %s", "none", "/x\ny\x7f\x1b[1m"), -EINVAL);
    assert_string_equal(e.msg, "mount none on /x\\x0ay\\x7f\\x1b[1m");
    assert_int_equal(cerr_sys(&e, ENOENT, "open %s", "a\tb"), -ENOENT);
    assert_string_equal(e.msg, "open a\\x09b: No such file or directory");
    assert_int_equal(cerr_wrap(&e, "create %s", "c\r1"), -ENOENT);
    assert_string_equal(e.msg, "create c\\x0d1: open a\\x09b: No such file or directory");
    /* text that is already one line is left alone, UTF-8 included */
    cerr_set(&e, EIO, "caf\xc3\xa9 \\x0a \"q\"");
    assert_string_equal(e.msg, "caf\xc3\xa9 \\x0a \"q\"");
}

static void test_long_message_bounded(void **state)
{
    (void)state;
    static char big[3 * CERR_MSG_MAX];
    memset(big, '\n', sizeof big - 1);
    capsa_err e = {0};
    cerr_set(&e, E2BIG, "%s", big);
    assert_true(strlen(e.msg) < sizeof e.msg);
    assert_null(strchr(e.msg, '\n'));
    assert_int_equal(strncmp(e.msg, "\\x0a\\x0a", 8), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_characters_escaped),
        cmocka_unit_test(test_long_message_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
