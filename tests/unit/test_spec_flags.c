/* capsa spec's sandbox flags: each produces the expected config.json fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "spec/spec.h"

static json_t *apply(const spec_flags *f, capsa_err *e, int *r)
{
    spec_default_opts o = {0};
    char *text = spec_default_json(&o);
    *r = spec_apply_flags(&text, f, e);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    return j;
}

static const char *str_at(json_t *a, size_t i)
{
    return json_string_value(json_array_get(a, i));
}

static void test_no_flags_keeps_defaults(void **state)
{
    (void)state;
    capsa_err e = {0};
    int r;
    spec_flags f = {.readonly = -1};
    json_t *c = apply(&f, &e, &r);
    assert_int_equal(r, 0);
    assert_true(json_is_true(json_object_get(json_object_get(c, "root"), "readonly")));
    assert_non_null(json_object_get(json_object_get(c, "linux"), "seccomp"));
    json_decref(c);
}

static void test_all_flags(void **state)
{
    (void)state;
    capsa_err e = {0};
    int r;
    char *mounts[] = {"/tmp:/data:ro", NULL}, *tmpfs[] = {"/scratch:size=1m", NULL};
    char *env[] = {"FOO=bar", "PATH=/bin", NULL}, *add[] = {"NET_BIND_SERVICE", NULL};
    char *drop[] = {"ALL", NULL};
    spec_flags f = {.readonly = 0, .terminal = true, .cwd = "/work", .user = "1000:2000",
                    .net = "host", .seccomp = "unconfined", .mounts = mounts, .tmpfs = tmpfs,
                    .env = env, .cap_add = add, .cap_drop = drop};
    json_t *c = apply(&f, &e, &r);
    assert_int_equal(r, 0);
    json_t *p = json_object_get(c, "process"), *l = json_object_get(c, "linux");
    assert_true(json_is_false(json_object_get(json_object_get(c, "root"), "readonly")));
    assert_true(json_is_true(json_object_get(p, "terminal")));
    assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/work");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "user"), "uid")), 1000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "user"), "gid")), 2000);
    assert_null(json_object_get(l, "seccomp"));
    json_t *ns = json_object_get(l, "namespaces");
    for (size_t i = 0; i < json_array_size(ns); i++)
        assert_string_not_equal(json_string_value(json_object_get(json_array_get(ns, i), "type")),
                                "network");
    json_t *caps = json_object_get(p, "capabilities");
    const char *sets[] = {"bounding", "effective", "permitted"};
    for (int i = 0; i < 3; i++) {
        json_t *a = json_object_get(caps, sets[i]);
        assert_int_equal(json_array_size(a), 1);
        assert_string_equal(str_at(a, 0), "CAP_NET_BIND_SERVICE");
    }
    json_t *envs = json_object_get(p, "env");
    bool foo = false;
    size_t paths = 0;
    for (size_t i = 0; i < json_array_size(envs); i++) {
        foo |= !strcmp(str_at(envs, i), "FOO=bar");
        paths += !strncmp(str_at(envs, i), "PATH=", 5);
    }
    assert_true(foo);
    assert_int_equal(paths, 1);   /* replaced, not duplicated */
    json_t *ms = json_object_get(c, "mounts");
    json_t *bind = json_array_get(ms, json_array_size(ms) - 2);
    json_t *tmp = json_array_get(ms, json_array_size(ms) - 1);
    assert_string_equal(json_string_value(json_object_get(bind, "destination")), "/data");
    assert_string_equal(json_string_value(json_object_get(bind, "source")), "/tmp");
    assert_string_equal(str_at(json_object_get(bind, "options"), 3), "ro");
    assert_string_equal(json_string_value(json_object_get(tmp, "type")), "tmpfs");
    assert_string_equal(str_at(json_object_get(tmp, "options"), 3), "size=1m");
    json_decref(c);
}

static void test_bad_flags(void **state)
{
    (void)state;
    const struct { spec_flags f; const char *msg; } cases[] = {
        {{.readonly = -1, .user = "x"}, "--user x: expected UID[:GID] as numbers"},
        {{.readonly = -1, .cwd = "rel"}, "--cwd rel: must be an absolute path"},
        {{.readonly = -1, .net = "bridge"}, "--net bridge: expected none, host or veth[,bridge=NAME][,subnet=CIDR]"},
        {{.readonly = -1, .cap_add = (char *[]){"CAP_NOPE", NULL}}, "--cap-add CAP_NOPE: unknown capability"},
        {{.readonly = -1, .cap_drop = (char *[]){"NOPE", NULL}}, "--cap-drop NOPE: unknown capability"},
        {{.readonly = -1, .env = (char *[]){"NOEQ", NULL}}, "--env NOEQ: expected KEY=VALUE"},
        {{.readonly = -1, .mounts = (char *[]){"a", NULL}}, "--mount a: expected SRC:DST[:ro|rw]"},
        {{.readonly = -1, .mounts = (char *[]){"/tmp:rel", NULL}},
         "--mount /tmp:rel: destination must be an absolute path"},
        {{.readonly = -1, .mounts = (char *[]){"/no/such:/x", NULL}},
         "--mount /no/such:/x: source /no/such: No such file or directory"},
        {{.readonly = -1, .tmpfs = (char *[]){"rel", NULL}},
         "--tmpfs rel: destination must be an absolute path"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        capsa_err e = {0};
        int r;
        json_t *c = apply(&cases[i].f, &e, &r);
        assert_true(r < 0);
        assert_string_equal(e.msg, cases[i].msg);
        json_decref(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_flags_keeps_defaults),
        cmocka_unit_test(test_all_flags),
        cmocka_unit_test(test_bad_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
