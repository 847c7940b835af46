/* The malformed-config corpus: each entry is a config.json text and the exact
 * one-line error capsa must print for it. `at` is the text expected at the
 * reported line:column, so a wrong position cannot hide behind a copied
 * expectation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spec/spec.h"

#define V "\"ociVersion\": \"1.0.0\", "
#define ROOT "\"root\": {\"path\": \"rootfs\"}, "
#define USER "\"user\": {\"uid\": 0, \"gid\": 0}"
#define PROC "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER "}"
#define BASE V ROOT PROC
/* A user namespace with mappings, valid on its own. */
#define MAPS "\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}], " \
             "\"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]"

typedef struct {
    const char *name, *json, *want, *at;
} bad_case;

static const bad_case cases[] = {
    /* syntax: positions are jansson's */
    {"empty", "", "config.json:1:0: invalid JSON: '[' or '{' expected near end of file", NULL},
    {"trailing comma", "{\n  \"ociVersion\": \"1.0.0\",\n}",
     "config.json:3:1: invalid JSON: string or '}' expected near '}'", NULL},
    {"duplicate key", "{\"ociVersion\": \"1.0.0\", \"ociVersion\": \"1.1.0\"}",
     "config.json:1:36: invalid JSON: duplicate object key near '\"ociVersion\"'", NULL},
    {"bad token", "{\"ociVersion\": tru}", "config.json:1:18: invalid JSON: invalid token near 'tru'",
     NULL},
    {"truncated", "{\"ociVersion\": \"1.0.0\"",
     "config.json:1:22: invalid JSON: '}' expected near end of file", NULL},
    {"integer beyond int64", "{" V "\"linux\": {\"resources\": {\"pids\": {\"limit\": 99999999999999999999}}}}",
     "config.json:1:86: invalid JSON: too big integer near '99999999999999999999'", NULL},
    {"newline inside jansson's text", "{\"ociVersion\": \"x\\\n\"}",
     "config.json:2:0: invalid JSON: invalid escape near '\"x\\\\x0a'", NULL},
    {"root not an object", "[1, 2]", "config.json:1:1: expected an object, got an array", "[1"},

    /* ociVersion and root */
    {"no ociVersion", "{}", "config.json:1:1: missing required field \"ociVersion\"", "{}"},
    {"ociVersion 2", "{\"ociVersion\": \"2.0.0\"}",
     "config.json:1:16: ociVersion: unsupported version \"2.0.0\" (capsa implements runtime-spec 1.x: "
     "write the 1.x version the config follows, e.g. \"1.0.2\")",
     "\"2.0.0\""},
    {"ociVersion number", "{\"ociVersion\": 1.0}",
     "config.json:1:16: ociVersion: expected a string, got a real number", "1.0"},
    {"no root", "{" V PROC "}", "config.json:1:1: missing required field \"root\"", "{"},
    {"root without path", "{" V "\"root\": {\"readonly\": true}}",
     "config.json:1:33: root: missing required field \"path\"", "{\"readonly"},
    {"root.readonly string", "{" V "\"root\": {\"path\": \"r\", \"readonly\": \"yes\"}}",
     "config.json:1:59: root.readonly: expected a boolean, got a string", "\"yes\""},
    {"escaped key", "{" V "\"root\": {\"pa\\u0074h\": 7}}",
     "config.json:1:47: root.path: expected a string, got an integer", "7}"},

    /* process */
    {"process without cwd", "{" V ROOT "\"process\": {\"args\": [\"sh\"], " USER "}}",
     "config.json:1:64: process: missing required field \"cwd\"", "{\"args"},
    {"relative cwd", "{" V ROOT "\"process\": {\"cwd\": \"tmp\", \"args\": [\"sh\"], " USER "}}",
     "config.json:1:72: process.cwd: \"tmp\": must be an absolute path", "\"tmp\""},
    {"empty args", "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [], " USER "}}",
     "config.json:1:85: process.args: must not be empty", "[]"},
    {"args element not a string", "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\", 2], " USER "}}",
     "config.json:1:92: process.args[1]: expected a string, got an integer", "2]"},
    {"no user", "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"]}}",
     "config.json:1:64: process: missing required field \"user\"", "{\"cwd"},
    {"negative uid", "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": -1, \"gid\": 0}}}",
     "config.json:1:109: process.user.uid: expected a non-negative integer, got -1", "-1"},
    {"uid above 2^32-1",
     "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 4294967296, \"gid\": 0}}}",
     "config.json:1:109: process.user.uid: 4294967296 is out of range (0..4294967295)", "4294967296"},
    {"user without gid", "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0}}}",
     "config.json:1:101: process.user: missing required field \"gid\"", "{\"uid\": 0}"},
    {"additionalGids string",
     "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"user\": {\"uid\": 0, \"gid\": 0, "
     "\"additionalGids\": [1, \"2\"]}}}",
     "config.json:1:144: process.user.additionalGids[1]: expected an integer, got a string", "\"2\""},
    {"env without =", "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], \"env\": [\"A=1\", \"B\"], " USER "}}",
     "config.json:1:108: process.env[1]: invalid environment variable \"B\": missing '='", "\"B\""},
    {"unknown capability",
     "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"capabilities\": "
     "{\"bounding\": [\"CAP_CHOWN\", \"CAP_FOO\"]}}}",
     "config.json:1:166: process.capabilities.bounding[1]: \"CAP_FOO\": unknown capability", "\"CAP_FOO\""},
    {"capability set is a string",
     "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"capabilities\": "
     "{\"effective\": \"CAP_KILL\"}}}",
     "config.json:1:153: process.capabilities.effective: expected an array of strings, got a string",
     "\"CAP_KILL\""},
    {"unknown rlimit",
     "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"rlimits\": "
     "[{\"type\": \"RLIMIT_FOO\", \"hard\": 1, \"soft\": 1}]}}",
     "config.json:1:144: process.rlimits[0].type: \"RLIMIT_FOO\": unknown rlimit", "\"RLIMIT_FOO\""},
    {"rlimit without soft",
     "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"rlimits\": "
     "[{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1}]}}",
     "config.json:1:135: process.rlimits[0]: missing required field \"soft\"", "{\"type"},
    {"duplicate rlimit",
     "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"rlimits\": "
     "[{\"type\": \"RLIMIT_CORE\", \"hard\": 1, \"soft\": 1}, {\"type\": \"RLIMIT_CORE\", \"hard\": 2, \"soft\": 2}]}}",
     "config.json:1:191: process.rlimits[1].type: duplicate rlimit \"RLIMIT_CORE\"", "\"RLIMIT_CORE\", \"hard\": 2"},
    {"rlimit soft above hard",
     "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"rlimits\": "
     "[{\"type\": \"RLIMIT_NOFILE\", \"hard\": 10, \"soft\": 20}]}}",
     "config.json:1:181: process.rlimits[0].soft: soft limit 20 is above the hard limit 10", "20}"},
    {"oomScoreAdj out of range",
     "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"oomScoreAdj\": 1001}}",
     "config.json:1:138: process.oomScoreAdj: 1001 is out of range (-1000..1000)", "1001"},
    {"oomScoreAdj real",
     "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"oomScoreAdj\": 1.5}}",
     "config.json:1:138: process.oomScoreAdj: expected an integer, got a real number", "1.5"},
    {"noNewPrivileges string",
     "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"noNewPrivileges\": \"true\"}}",
     "config.json:1:142: process.noNewPrivileges: expected a boolean, got a string", "\"true\""},
    {"unknown scheduler policy",
     "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"scheduler\": {\"policy\": \"SCHED_X\"}}}",
     "config.json:1:147: process.scheduler.policy: \"SCHED_X\": unknown scheduler policy", "\"SCHED_X\""},
    {"apparmor", "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"apparmorProfile\": \"p\"}}",
     "config.json:1:142: process.apparmorProfile: AppArmor is not enabled on this host", "\"p\""},
    {"selinux", "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"selinuxLabel\": \"l\"}}",
     "config.json:1:139: process.selinuxLabel: SELinux is not enabled on this host", "\"l\""},
    {"scheduler", "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"scheduler\": {\"policy\": \"SCHED_RR\"}}}",
     "config.json:1:136: process.scheduler: not supported by capsa yet", "{\"policy"},
    {"ioPriority", "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"ioPriority\": {\"class\": \"IOPRIO_CLASS_BE\"}}}",
     "config.json:1:137: process.ioPriority: not supported by capsa yet", "{\"class"},
    {"execCPUAffinity", "{" V ROOT "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"], " USER ", \"execCPUAffinity\": {\"initial\": \"0\"}}}",
     "config.json:1:142: process.execCPUAffinity: not supported by capsa yet", "{\"initial"},

    /* mounts and hooks */
    {"mounts is an object", "{" BASE ", \"mounts\": {}}",
     "config.json:1:134: mounts: expected an array, got an object", "{}"},
    {"mount without destination", "{" BASE ", \"mounts\": [{\"destination\": \"/a\"}, {\"type\": \"tmpfs\"}]}",
     "config.json:1:158: mounts[1]: missing required field \"destination\"", "{\"type\""},
    {"mount option null", "{" BASE ", \"mounts\": [{\"destination\": \"/a\", \"options\": [\"ro\", null]}]}",
     "config.json:1:175: mounts[0].options[1]: expected a string, got null", "null"},
    {"idmap without size", "{" BASE ", \"mounts\": [{\"destination\": \"/a\", \"uidMappings\": [{\"containerID\": 0, \"hostID\": 0}]}]}",
     "config.json:1:173: mounts[0].uidMappings[0]: missing required field \"size\"", "{\"containerID"},
    {"idmapped mount", "{" BASE ", \"mounts\": [{\"destination\": \"/a\"}, {\"destination\": \"/b\", "
     "\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}]}]}",
     "config.json:1:158: mounts[1]: an idmapped mount needs both uidMappings and gidMappings",
     "{\"destination\": \"/b\""},
    {"hook without path", "{" BASE ", \"hooks\": {\"poststop\": [{\"args\": [\"x\"]}]}}",
     "config.json:1:147: hooks.poststop[0]: missing required field \"path\"", "{\"args"},
    {"hook timeout 0", "{" BASE ", \"hooks\": {\"poststart\": [{\"path\": \"/bin/true\", \"timeout\": 0}]}}",
     "config.json:1:181: hooks.poststart[0].timeout: 0 is out of range (1..2147483647)", "0}"},
    {"annotation not a string", "{" BASE ", \"annotations\": {\"org.example.n\": 1}}",
     "config.json:1:157: annotations.org.example.n: expected a string, got an integer", "1}"},

    /* linux */
    {"unknown namespace", "{" BASE ", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"foo\"}]}}",
     "config.json:1:175: linux.namespaces[1].type: \"foo\": unknown namespace type", "\"foo\""},
    {"duplicate namespace", "{" BASE ", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"pid\"}]}}",
     "config.json:1:175: linux.namespaces[1].type: duplicate namespace \"pid\"", "\"pid\"}]"},
    {"namespace without type", "{" BASE ", \"linux\": {\"namespaces\": [{\"path\": \"/proc/1/ns/net\"}]}}",
     "config.json:1:149: linux.namespaces[0]: missing required field \"type\"", "{\"path"},
    {"relative namespace path", "{" BASE ", \"linux\": {\"namespaces\": [{\"type\": \"network\", \"path\": \"ns/net\"}]}}",
     "config.json:1:177: linux.namespaces[0].path: \"ns/net\": must be an absolute path", "\"ns/net\""},
    {"user namespace without mappings", "{" BASE ", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"user\"}]}}",
     "config.json:1:166: linux.namespaces[1]: a new user namespace needs linux.uidMappings and linux.gidMappings",
     "{\"type\": \"user\"}"},
    {"joined user namespace with mappings",
     "{" BASE ", \"linux\": {\"namespaces\": [{\"type\": \"user\", \"path\": \"/proc/1/ns/user\"}], " MAPS "}}",
     "config.json:1:210: linux.uidMappings: id mappings cannot be set when joining an existing user "
     "namespace (linux.namespaces[0].path)",
     "[{\"containerID"},
    {"mappings without user namespace", "{" BASE ", \"linux\": {" MAPS "}}",
     "config.json:1:149: linux.uidMappings: id mappings need a user namespace in linux.namespaces",
     "[{\"containerID"},
    {"idmap hostID string",
     "{" BASE ", \"linux\": {\"uidMappings\": [{\"containerID\": 0, \"hostID\": \"1000\", \"size\": 1}]}}",
     "config.json:1:179: linux.uidMappings[0].hostID: expected an integer, got a string", "\"1000\""},
    {"timeOffsets without time namespace",
     "{" BASE ", \"linux\": {\"timeOffsets\": {\"monotonic\": {\"secs\": 1}}}}",
     "config.json:1:149: linux.timeOffsets: needs a time namespace", "{\"monotonic"},
    {"timeOffsets unknown clock",
     "{" BASE ", \"linux\": {\"namespaces\": [{\"type\": \"time\"}], \"timeOffsets\": {\"realtime\": {\"secs\": 1}}}}",
     "config.json:1:196: linux.timeOffsets.realtime: \"realtime\": unknown clock (want monotonic or boottime)",
     "{\"secs"},
    {"hostname without uts namespace",
     "{" BASE ", \"hostname\": \"box\", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}]}}",
     "config.json:1:136: hostname: setting it needs a uts namespace", "\"box\""},
    {"unknown device type",
     "{" BASE ", \"linux\": {\"devices\": [{\"type\": \"x\", \"path\": \"/dev/x\"}]}}",
     "config.json:1:155: linux.devices[0].type: \"x\": unknown device type (want c, b, u or p)", "\"x\""},
    {"char device without major",
     "{" BASE ", \"linux\": {\"devices\": [{\"type\": \"c\", \"path\": \"/dev/null\", \"minor\": 3}]}}",
     "config.json:1:146: linux.devices[0]: missing required field \"major\"", "{\"type"},
    {"memory limit string, multi-line",
     "{\n  " V "\n  " ROOT "\n  \"linux\": {\n    \"resources\": {\n      \"memory\": {\n"
     "        \"limit\": \"1g\"\n      }\n    }\n  }\n}",
     "config.json:7:18: linux.resources.memory.limit: expected an integer, got a string", "\"1g\""},
    {"device rule access",
     "{" BASE ", \"linux\": {\"resources\": {\"devices\": [{\"allow\": true, \"access\": \"rwx\"}]}}}",
     "config.json:1:186: linux.resources.devices[0].access: \"rwx\": access must be a combination of r, w and m",
     "\"rwx\""},
    {"device rule without allow",
     "{" BASE ", \"linux\": {\"resources\": {\"devices\": [{\"access\": \"rwm\"}]}}}",
     "config.json:1:160: linux.resources.devices[0]: missing required field \"allow\"", "{\"access"},
    {"pids without limit", "{" BASE ", \"linux\": {\"resources\": {\"pids\": {}}}}",
     "config.json:1:156: linux.resources.pids: missing required field \"limit\"", "{}"},
    {"negative cpu shares", "{" BASE ", \"linux\": {\"resources\": {\"cpu\": {\"shares\": -2}}}}",
     "config.json:1:166: linux.resources.cpu.shares: expected a non-negative integer, got -2", "-2"},
    {"blkio weight too high", "{" BASE ", \"linux\": {\"resources\": {\"blockIO\": {\"weight\": 1001}}}}",
     "config.json:1:170: linux.resources.blockIO.weight: 1001 is out of range (0..1000)", "1001}"},
    {"throttle without rate",
     "{" BASE ", \"linux\": {\"resources\": {\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0}]}}}}",
     "config.json:1:186: linux.resources.blockIO.throttleReadBpsDevice[0]: missing required field \"rate\"",
     "{\"major"},
    {"swappiness 200", "{" BASE ", \"linux\": {\"resources\": {\"memory\": {\"swappiness\": 200}}}}",
     "config.json:1:173: linux.resources.memory.swappiness: 200 is out of range (0..100)", "200"},
    {"rdma", "{" BASE ", \"linux\": {\"resources\": {\"rdma\": {\"mlx5_1\": {\"hcaHandles\": 3}}}}}",
     "config.json:1:156: linux.resources.rdma: not supported by capsa yet", "{\"mlx5_1"},
    {"intelRdt closID with a slash", "{" BASE ", \"linux\": {\"intelRdt\": {\"closID\": \"../g\"}}}",
     "config.json:1:157: linux.intelRdt.closID: \"../g\": not a resctrl group name (no \"/\", not \".\" or \"..\")",
     "\"../g\""},
    {"memoryPolicy", "{" BASE ", \"linux\": {\"memoryPolicy\": {\"mode\": \"MPOL_BIND\", \"nodes\": \"0\"}}}",
     "config.json:1:150: linux.memoryPolicy: not supported by capsa yet", "{\"mode"},
    {"memoryPolicy without mode", "{" BASE ", \"linux\": {\"memoryPolicy\": {\"nodes\": \"0\"}}}",
     "config.json:1:150: linux.memoryPolicy: missing required field \"mode\"", "{\"nodes"},
    {"netDevices", "{" BASE ", \"linux\": {\"netDevices\": {\"eth1\": {\"name\": \"net1\"}}}}",
     "config.json:1:148: linux.netDevices: not supported by capsa yet", "{\"eth1"},
    {"netDevices entry not an object", "{" BASE ", \"linux\": {\"netDevices\": {\"eth1\": \"net1\"}}}",
     "config.json:1:157: linux.netDevices.eth1: expected an object, got a string", "\"net1\""},
    {"no mount namespace", "{" BASE ", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}]}}",
     "config.json:1:148: linux.namespaces: no mount namespace: the container's mounts would be made in "
     "the host's mount table (runc 1.1.5 does, and leaves them there after delete); add "
     "{\"type\": \"mount\"} to linux.namespaces", "[{\"type"},
    {"seccomp unknown action",
     "{" BASE ", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
     "[{\"names\": [\"bpf\"], \"action\": \"SCMP_ACT_NOPE\"}]}}}",
     "config.json:1:223: linux.seccomp.syscalls[0].action: \"SCMP_ACT_NOPE\": unknown seccomp action",
     "\"SCMP_ACT_NOPE\""},
    {"mountLabel", "{" BASE ", \"linux\": {\"mountLabel\": \"system_u:object_r:c\"}}",
     "config.json:1:148: linux.mountLabel: SELinux is not enabled on this host", "\"system_u"},
    {"sysctl value not a string", "{" BASE ", \"linux\": {\"sysctl\": {\"net.ipv4.ip_forward\": 1}}}",
     "config.json:1:168: linux.sysctl.net.ipv4.ip_forward: expected a string, got an integer", "1}"},
    {"relative masked path",
     "{" BASE ", \"linux\": {\"namespaces\": [{\"type\": \"mount\"}], \"maskedPaths\": [\"/proc/kcore\", \"proc/keys\"]}}",
     "config.json:1:200: linux.maskedPaths[1]: \"proc/keys\": must be an absolute path", "\"proc/keys\""},
    {"masked paths without mount namespace",
     "{" BASE ", \"linux\": {\"maskedPaths\": [\"/proc/kcore\"]}}",
     "config.json:1:149: linux.maskedPaths: needs a mount namespace", "[\"/proc"},
    {"unknown rootfsPropagation", "{" BASE ", \"linux\": {\"rootfsPropagation\": \"bogus\"}}",
     "config.json:1:155: linux.rootfsPropagation: \"bogus\": unknown rootfs propagation", "\"bogus\""},
    {"personality domain", "{" BASE ", \"linux\": {\"personality\": {\"domain\": \"LINUX64\"}}}",
     "config.json:1:160: linux.personality.domain: \"LINUX64\": unknown personality domain", "\"LINUX64\""},
    {"linux is an array", "{" BASE ", \"linux\": []}",
     "config.json:1:133: linux: expected an object, got an array", "[]"},
    /* columns count characters, not bytes, and skip escapes correctly */
    {"column after escapes and UTF-8",
     "{" V ROOT "\"hostname\": \"h\\\"\\u00e9\xc3\xa9\\\\\", \"domainname\": 5}",
     "config.json:1:95: domainname: expected a string, got an integer", "5}"},
    {"control characters in keys are escaped too",
     "{" BASE ", \"annotations\": {\"a\\nb\": 1}}",
     "config.json:1:148: annotations.a\\x0ab: expected a string, got an integer", "1}"},
    {"control characters are escaped in messages",
     "{" BASE ", \"linux\": {\"namespaces\": [{\"type\": \"a\\nb\"}]}}",
     "config.json:1:158: linux.namespaces[0].type: \"a\\x0ab\": unknown namespace type", "\"a\\nb\""},
    /* found by tests/fuzz: a DEL in a cpuset string went into the message raw */
    {"control characters are escaped in cpuset messages",
     "{" BASE ", \"linux\": {\"resources\": {\"cpu\": {\"cpus\": \"0-1\x7f\"}}}}",
     "config.json:1:164: linux.resources.cpu.cpus: \"0-1\\x7f\" is not a CPU list (like 0-3,6)",
     "\"0-1"},
};

/* The text at line:col (col in characters, as reported). */
static const char *text_at(const char *text, unsigned line, unsigned col)
{
    const char *p = text;
    for (unsigned l = 1; l < line && p; l++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    for (unsigned c = 1; p && *p && c < col; c++) {
        p++;
        while ((*p & 0xC0) == 0x80)
            p++;
    }
    return p;
}

static void check_case(const bad_case *c)
{
    spec *s = NULL;
    capsa_err e = {0};
    int r = spec_parse(c->json, strlen(c->json), "config.json", &s, &e);
    if (r == 0) {
        r = spec_validate(s, &e);
        spec_free(s);
    } else {
        assert_null(s);
    }
    if (r == 0 || strcmp(e.msg, c->want) != 0)
        fail_msg("case \"%s\":\n  want: %s\n  got:  %s", c->name, c->want, r ? e.msg : "(no error)");
    assert_true(e.code > 0);
    for (const char *p = e.msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            fail_msg("case \"%s\": control character 0x%02x in the message", c->name, *p);
    if (!c->at)
        return;
    unsigned line, col;
    assert_int_equal(sscanf(c->want, "config.json:%u:%u:", &line, &col), 2);
    const char *p = text_at(c->json, line, col);
    if (!p || strncmp(p, c->at, strlen(c->at)) != 0)
        fail_msg("case \"%s\": at %u:%u want \"%s\", found \"%.20s\"", c->name, line, col, c->at,
                 p ? p : "(past the end)");
}

static void test_case(void **state)
{
    check_case(*state);
}

/* Every prefix of a good config is either an error or the same config:
 * exercises error paths at every depth (and, under ASan, their cleanup). */
static void test_truncations(void **state)
{
    (void)state;
    const char *good = "{" BASE ", \"mounts\": [{\"destination\": \"/a\", \"options\": [\"ro\"]}], "
                       "\"linux\": {\"namespaces\": [{\"type\": \"mount\"}], \"resources\": "
                       "{\"memory\": {\"limit\": 1}, \"devices\": [{\"allow\": false}]}}}";
    size_t n = strlen(good);
    for (size_t len = 0; len < n; len++) {
        spec *s = NULL;
        capsa_err e = {0};
        assert_int_not_equal(spec_parse(good, len, "config.json", &s, &e), 0);
        assert_null(s);
        assert_non_null(strstr(e.msg, "invalid JSON"));
    }
}

int main(void)
{
    size_t n = sizeof cases / sizeof cases[0];
    struct CMUnitTest *tests = calloc(n + 1, sizeof *tests);
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){
            .name = cases[i].name,
            .test_func = test_case,
            .initial_state = (void *)&cases[i],
        };
    tests[n] = (struct CMUnitTest)cmocka_unit_test(test_truncations);
    assert_true(n >= 35);
    int r = _cmocka_run_group_tests("spec_errors", tests, n + 1, NULL, NULL);
    free(tests);
    return r;
}
