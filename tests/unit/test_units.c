/* Units on the command line (sizes, durations, CPU lists), the standalone
 * resources parser of `update -r` and the resource value checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "spec/spec.h"
#include "util/units.h"

static void test_sizes(void **state)
{
    (void)state;
    static const struct { const char *s; int64_t v; } ok[] = {
        {"0", 0}, {"1024", 1024}, {"512k", 512 << 10}, {"512K", 512 << 10}, {"64m", 64 << 20},
        {"64MiB", 64 << 20}, {"64mb", 64 << 20}, {"1g", 1 << 30}, {"1.5g", 3LL << 29},
        {"2t", 2LL << 40}, {"-1", -1}, {"10b", 10},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = 12345;
        assert_int_equal(units_parse_size(ok[i].s, &v), 0);
        assert_int_equal(v, ok[i].v);
    }
    static const char *const bad[] = {"", "12q", "m", "-5", "1.g", " 5", "5 ", "0x10", "inf",
                                      "1e3", "64mm", "1kib2", NULL};
    for (int i = 0; bad[i]; i++) {
        int64_t v;
        assert_int_equal(units_parse_size(bad[i], &v), -EINVAL);
    }
    int64_t v;
    assert_int_equal(units_parse_size("99999999p", &v), -ERANGE);
}

static void test_durations(void **state)
{
    (void)state;
    uint64_t ns;
    assert_int_equal(units_parse_duration("5s", &ns), 0);
    assert_true(ns == 5000000000ull);
    assert_int_equal(units_parse_duration("1m30s", &ns), 0);
    assert_true(ns == 90000000000ull);
    assert_int_equal(units_parse_duration("250ms", &ns), 0);
    assert_true(ns == 250000000ull);
    assert_int_equal(units_parse_duration("1.5h", &ns), 0);
    assert_true(ns == 5400000000000ull);
    assert_int_equal(units_parse_duration("0", &ns), 0);
    assert_true(ns == 0);
    static const char *const bad[] = {"", "5", "s", "5x", "-1s", "5 s", "1.s", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(units_parse_duration(bad[i], &ns), -EINVAL);
}

static void test_cpu_lists(void **state)
{
    (void)state;
    assert_true(units_cpu_list_valid("0"));
    assert_true(units_cpu_list_valid("0-3"));
    assert_true(units_cpu_list_valid("0,2,4-7"));
    assert_true(units_cpu_list_valid("0-15:2/4,20"));
    static const char *const bad[] = {"", "a", "0-", "-1", "3-1", "0,,1", "0,", "1 2", "0-3:2", "0-3:/4", NULL};
    for (int i = 0; bad[i]; i++)
        assert_false(units_cpu_list_valid(bad[i]));
}

static void test_users(void **state)
{
    (void)state;
    uint32_t uid = 7, gid = 7, id;
    bool has = true;
    assert_int_equal(units_parse_user("1000", &uid, &gid, &has), 0);
    assert_int_equal(uid, 1000);
    assert_false(has);
    assert_int_equal(units_parse_user("0:4294967295", &uid, &gid, &has), 0);
    assert_int_equal(uid, 0);
    assert_int_equal(gid, 4294967295u);
    assert_true(has);
    static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "1:", ":1", "1:-2", "1:2:3",
                                      "4294967296", "1:4294967296", "root", "1:wheel",
                                      "99999999999999999999", NULL};
    for (int i = 0; bad[i]; i++) {
        uid = gid = 7;
        if (units_parse_user(bad[i], &uid, &gid, &has) != -EINVAL)
            fail_msg("accepted --user \"%s\"", bad[i]);
        assert_int_equal(uid, 7);
    }
    assert_int_equal(units_parse_id("65534", &id), 0);
    assert_int_equal(id, 65534);
    assert_int_equal(units_parse_id("1:2", &id), -EINVAL);
    assert_int_equal(units_parse_id("", &id), -EINVAL);
}

static void test_format_size(void **state)
{
    (void)state;
    char b[32];
    units_format_size(64ull << 20, b, sizeof b);
    assert_string_equal(b, "64 MiB");
    units_format_size(1536, b, sizeof b);
    assert_string_equal(b, "1.5 KiB");
    units_format_size(100, b, sizeof b);
    assert_string_equal(b, "100 B");
    units_format_size(1ull << 30, b, sizeof b);
    assert_string_equal(b, "1 GiB");
}

static void check(const char *json, const char *want)
{
    spec_resources r;
    capsa_err e = {0};
    int rc = spec_parse_resources(json, strlen(json), "r.json", &r, &e);
    if (rc == 0) {
        rc = spec_validate_resources(&r, true, &e);
        spec_resources_free(&r);
    }
    if (!want) {
        if (rc != 0)
            fail_msg("%s: unexpected error: %s", json, e.msg);
        return;
    }
    assert_true(rc < 0);
    if (!strstr(e.msg, want))
        fail_msg("%s: want \"%s\" in \"%s\"", json, want, e.msg);
}

static void test_resources(void **state)
{
    (void)state;
    check("{\"memory\": {\"limit\": 1048576, \"swap\": 2097152}}", NULL);
    check("{\"memory\": {\"swap\": 2097152}}", NULL);   /* update: the cgroup has a limit */
    check("{\"memory\": {\"limit\": -1, \"swap\": -1}}", NULL);
    check("{\"cpu\": {\"quota\": 50000}, \"pids\": {\"limit\": -1}}", NULL);
    check("{\"memory\": {\"limit\": 2097152, \"swap\": 1048576}}",
          "memory.swap: 1048576 is below memory.limit 2097152");
    check("{\"memory\": {\"limit\": -1, \"swap\": 1048576}}", "memory.swap: a swap limit needs");
    check("{\"memory\": {\"reservation\": -2}}", "memory.reservation: -2 is negative");
    check("{\"cpu\": {\"quota\": 50000, \"period\": 0}}", "cpu.period: is 0 while cpu.quota");
    check("{\"cpu\": {\"period\": 10}}", "cpu.period: 10 is out of range");
    check("{\"cpu\": {\"quota\": 999}}", "cpu.quota: 999 is below");
    check("{\"cpu\": {\"shares\": 300000}}", "cpu.shares: 300000 is out of range");
    check("{\"cpu\": {\"idle\": 2}}", "cpu.idle: 2 must be 0 or 1");
    check("{\"cpu\": {\"mems\": \"x\"}}", "cpu.mems");
    check("{\"pids\": {\"limit\": -2}}", "pids.limit: -2 is negative");
    check("{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": -1, \"minor\": 0, \"rate\": 1}]}}",
          "blockIO.throttleReadBpsDevice[0].major");
    /* parse errors are located in the file */
    check("{\n \"memory\": {\"limit\": \"x\"}}", "r.json:2:22: memory.limit: expected an integer");
    check("[1]", "r.json:1:1: expected an object");
    check("{", "r.json:1:1: invalid JSON");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_cpu_lists),
        cmocka_unit_test(test_users),
        cmocka_unit_test(test_format_size),
        cmocka_unit_test(test_resources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
