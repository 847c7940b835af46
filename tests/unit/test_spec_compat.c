/* Configs other tools write (issue 17): which ociVersions are read, fields from
 * newer specs and unknown keys (ignored as runc ignores them, named by --debug),
 * what is refused and why (docs/compat.md "Configs"). */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "spec/spec.h"
#include "util/log.h"

/* JSON written with ' for " keeps the configs below readable. */
static char *J(const char *s)
{
    char *t = strdup(s);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    return t;
}

#define PROC "'process': {'cwd': '/', 'args': ['sh'], 'user': {'uid': 0, 'gid': 0}}"
#define MNT "'namespaces': [{'type': 'pid'}, {'type': 'mount'}]"

/* Parse and validate; returns 0 or the error, with the message in msg. */
static int check(const char *text, char *msg, size_t n)
{
    char *json = J(text);
    spec *s = NULL;
    capsa_err e = {0};
    int r = spec_parse(json, strlen(json), "config.json", &s, &e);
    if (r == 0)
        r = spec_validate(s, &e);
    snprintf(msg, n, "%s", r ? e.msg : "");
    spec_free(s);
    free(json);
    return r;
}

static void test_versions_read(void **state)
{
    (void)state;
    static const char *const ok[] = {"1.0.0", "1.0.1", "1.0.2", "1.0.2-dev", "1.1.0-rc.1",
                                     "1.1.0-rc.3", "1.1.0", "1.2.0-rc.1", "1.2.0", "1.2.1",
                                     "1.2.1+dev", "1.3.0", NULL};
    char text[512], msg[1024];
    for (int i = 0; ok[i]; i++) {
        snprintf(text, sizeof text, "{'ociVersion': '%s', 'root': {'path': 'r'}, " PROC
                 ", 'linux': {" MNT "}}", ok[i]);
        if (check(text, msg, sizeof msg))
            fail_msg("%s refused: %s", ok[i], msg);
    }
    static const char *const bad[] = {"0.5.0", "2.0.0", "garbage", "", "v1.0.0", NULL};
    for (int i = 0; bad[i]; i++) {
        snprintf(text, sizeof text, "{'ociVersion': '%s', 'root': {'path': 'r'}, " PROC
                 ", 'linux': {" MNT "}}", bad[i]);
        assert_int_equal(check(text, msg, sizeof msg), -EINVAL);
        char want[256];
        snprintf(want, sizeof want, "config.json:1:16: ociVersion: unsupported version \"%s\" "
                 "(capsa implements runtime-spec 1.x: write the 1.x version the config "
                 "follows, e.g. \"1.0.2\")", bad[i]);
        assert_string_equal(msg, want);
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Keys of newer specs, other platforms and engines' extensions: the config runs
 * (runc ignores them too) and --debug names each one. */
static void test_unknown_fields_ignored_with_debug_log(void **state)
{
    (void)state;
    char log[] = "/tmp/capsa-unit-spec-compat-XXXXXX";
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(log_init(log, "text", true), 0);
    char msg[4096];
    int r = check("{'ociVersion': '1.2.1', 'root': {'path': 'r'}, 'vm': {'kernel': {}},"
                  " 'annotations': {'org.example.unknown': 'x'},"
                  " 'hooks': {'futureKind': [{'path': '/bin/false'}]},"
                  " 'process': {'cwd': '/', 'args': ['sh'], 'user': {'uid': 0, 'gid': 0},"
                  "   'zzzNew': 1},"
                  " 'linux': {" MNT ", 'zzzNew': {'a': 1},"
                  "   'memoryPolicy': {'mode': 'MPOL_DEFAULT'}, 'netDevices': {}}}",
                  msg, sizeof msg);
    if (r)
        fail_msg("refused: %s", msg);
    const char *text = slurp(log);
    unlink(log);
    assert_non_null(strstr(text, "ignoring unknown field vm"));
    assert_non_null(strstr(text, "ignoring unknown field hooks.futureKind"));
    assert_non_null(strstr(text, "ignoring unknown field process.zzzNew"));
    assert_non_null(strstr(text, "ignoring unknown field linux.zzzNew"));
    assert_non_null(strstr(text, "linux.memoryPolicy: MPOL_DEFAULT"));
    /* control: known fields are not reported */
    assert_null(strstr(text, "unknown field annotations"));
    assert_null(strstr(text, "unknown field linux.namespaces"));
    assert_null(strstr(text, "unknown field process.cwd"));
}

static bool resctrl_mounted(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, " - resctrl ") != NULL;
    if (f)
        fclose(f);
    return found;
}

/* intelRdt is refused: without resctrl the runtime-spec requires an error (runc
 * 1.1.5 ignores a closID alone there), with it capsa does not implement RDT. */
static void test_intel_rdt(void **state)
{
    (void)state;
    char msg[4096];
    const char *want = resctrl_mounted() ? "linux.intelRdt: not supported by capsa yet"
                                         : "linux.intelRdt: resctrl is not mounted on this host "
                                           "(Intel RDT needs it)";
    int r = check("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, " PROC ", 'linux': {" MNT
                  ", 'intelRdt': {'closID': 'g1', 'enableCMT': true}}}", msg, sizeof msg);
    assert_int_equal(r, -ENOTSUP);
    assert_non_null(strstr(msg, want));
    r = check("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, " PROC ", 'linux': {" MNT
              ", 'intelRdt': {'closID': 'g1', 'memBwSchema': 'MB:0=50', 'schemata': ['L3:0=f']}}}",
              msg, sizeof msg);
    assert_int_equal(r, -ENOTSUP);
    assert_non_null(strstr(msg, want));
}

/* Without a mount namespace of its own the container is refused, a joined one
 * is fine. */
static void test_mount_namespace(void **state)
{
    (void)state;
    char msg[4096];
    int r = check("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, " PROC ", 'linux': {"
                  "'namespaces': [{'type': 'mount', 'path': '/proc/1/ns/mnt'}]}}", msg,
                  sizeof msg);
    if (r)
        fail_msg("joined mount namespace refused: %s", msg);
    r = check("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, " PROC ", 'linux': {"
              "'namespaces': [{'type': 'pid'}]}}", msg, sizeof msg);
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(msg, "linux.namespaces: no mount namespace"));
}

/* issue 23: runc 1.1.5 refuses a namespace listed twice ("malformed spec file:
 * duplicated ns"), with a path or without; so does capsa. */
static void test_duplicate_namespace(void **state)
{
    (void)state;
    char msg[4096];
    assert_int_equal(check("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, " PROC
                           ", 'linux': {'namespaces': [{'type': 'mount'}, {'type': 'cgroup'},"
                           " {'type': 'cgroup'}]}}", msg, sizeof msg), -EINVAL);
    assert_non_null(strstr(msg, "linux.namespaces[2].type: duplicate namespace \"cgroup\""));
    assert_int_equal(check("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, " PROC
                           ", 'linux': {'namespaces': [{'type': 'mount'}, {'type': 'cgroup'},"
                           " {'type': 'cgroup', 'path': '/proc/1/ns/cgroup'}]}}", msg,
                           sizeof msg), -EINVAL);
    assert_non_null(strstr(msg, "duplicate namespace \"cgroup\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions_read),
        cmocka_unit_test(test_unknown_fields_ignored_with_debug_log),
        cmocka_unit_test(test_intel_rdt),
        cmocka_unit_test(test_mount_namespace),
        cmocka_unit_test(test_duplicate_namespace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
