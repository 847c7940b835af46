/* Container ids, signal names and mount option parsing. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/mount.h>
#include <cmocka.h>

#include "linux/mounts.h"
#include "util/names.h"

static void test_ids_valid(void **state)
{
    (void)state;
    capsa_err e = {0};
    const char *ok[] = {"a", "demo", "A1", "x_y.z+w-v", "0abc"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        assert_int_equal(id_validate(ok[i], &e), 0);
    char big[1025];
    memset(big, 'a', sizeof big - 1);
    big[1024] = 0;
    assert_int_equal(id_validate(big, &e), 0);
}

static void test_ids_invalid(void **state)
{
    (void)state;
    capsa_err e = {0};
    assert_int_equal(id_validate("", &e), -22);
    assert_string_equal(e.msg, "invalid container id \"\": must not be empty");
    assert_int_equal(id_validate("../x", &e), -22);
    assert_string_equal(e.msg, "invalid container id \"../x\": must start with a letter or digit");
    assert_int_equal(id_validate("/", &e), -22);
    assert_int_equal(id_validate("a/b", &e), -22);
    assert_string_equal(e.msg,
                        "invalid container id \"a/b\": character '/' not allowed (use [A-Za-z0-9_.+-])");
    assert_int_equal(id_validate("a b", &e), -22);
    assert_int_equal(id_validate(".hidden", &e), -22);
    assert_int_equal(id_validate("-x", &e), -22);
    char big[1026];
    memset(big, 'a', sizeof big - 1);
    big[1025] = 0;
    assert_int_equal(id_validate(big, &e), -22);
    assert_string_equal(e.msg, "invalid container id: longer than 1024 characters");
}

static void test_signals(void **state)
{
    (void)state;
    capsa_err e = {0};
    assert_int_equal(signal_parse("TERM", &e), SIGTERM);
    assert_int_equal(signal_parse("SIGTERM", &e), SIGTERM);
    assert_int_equal(signal_parse("sigkill", &e), SIGKILL);
    assert_int_equal(signal_parse("kill", &e), SIGKILL);
    assert_int_equal(signal_parse("9", &e), 9);
    assert_int_equal(signal_parse("15", &e), 15);
    assert_int_equal(signal_parse("HUP", &e), SIGHUP);
    assert_int_equal(signal_parse("USR1", &e), SIGUSR1);
    assert_int_equal(signal_parse("SIGWINCH", &e), SIGWINCH);
    assert_int_equal(signal_parse("RTMIN", &e), SIGRTMIN);
    assert_int_equal(signal_parse("RTMIN+3", &e), SIGRTMIN + 3);
    assert_int_equal(signal_parse("SIGRTMAX-1", &e), SIGRTMAX - 1);
    assert_true(signal_parse("FOO", &e) < 0);
    assert_string_equal(e.msg, "invalid signal \"FOO\"");
    assert_true(signal_parse("0", &e) < 0);
    assert_true(signal_parse("65", &e) < 0);
    assert_true(signal_parse("9x", &e) < 0);
    assert_true(signal_parse("", &e) < 0);
    assert_true(signal_parse("RTMIN+99", &e) < 0);
    assert_string_equal(signal_name(SIGTERM), "SIGTERM");
}

static void test_mount_options(void **state)
{
    (void)state;
    capsa_err e = {0};
    mount_opts o;
    char *a[] = {"nosuid", "noexec", "nodev", "ro", "mode=755", "size=65536k", NULL};
    assert_int_equal(mount_parse_options(a, &o, &e), 0);
    assert_int_equal(o.flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
    assert_string_equal(o.data, "mode=755,size=65536k");
    assert_false(o.bind);

    char *b[] = {"rbind", "rprivate", "rw", "suid", NULL};
    assert_int_equal(mount_parse_options(b, &o, &e), 0);
    assert_true(o.bind);
    assert_true(o.rec);
    assert_int_equal(o.propagation, MS_PRIVATE | MS_REC);
    assert_int_equal(o.flags, 0);
    assert_int_equal(o.clear, MS_RDONLY | MS_NOSUID);
    assert_string_equal(o.data, "");

    char *c[] = {"bind", "ro", "rw", "slave", NULL};  /* the last of ro/rw wins */
    assert_int_equal(mount_parse_options(c, &o, &e), 0);
    assert_false(o.rec);
    assert_int_equal(o.flags & MS_RDONLY, 0);
    assert_int_equal(o.propagation, MS_SLAVE);

    char *d[] = {"rro", "rnosuid", "rnoatime", NULL};
    assert_int_equal(mount_parse_options(d, &o, &e), 0);
    assert_int_equal(o.rec_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
    assert_true(o.rec_clr & MOUNT_ATTR__ATIME);

    char *f[] = {"newinstance", "ptmxmode=0666", "gid=5", "strictatime", NULL};
    assert_int_equal(mount_parse_options(f, &o, &e), 0);
    assert_int_equal(o.flags, MS_STRICTATIME);
    assert_string_equal(o.data, "newinstance,ptmxmode=0666,gid=5");

    char *g[] = {"bind", "ridmap", NULL};   /* the mapping itself is in the mount's fields */
    assert_int_equal(mount_parse_options(g, &o, &e), 0);
    assert_true(o.bind && o.rec);
    assert_string_equal(o.data, "");

    uint64_t set, clr;
    mount_flags_to_attr(MS_RDONLY | MS_NOSUID | MS_NOATIME, MS_NODEV, &set, &clr);
    assert_int_equal(set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
    assert_int_equal(clr, MOUNT_ATTR_NODEV | MOUNT_ATTR__ATIME);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_valid),
        cmocka_unit_test(test_ids_invalid),
        cmocka_unit_test(test_signals),
        cmocka_unit_test(test_mount_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
