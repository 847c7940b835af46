/* cgroup v2 has no devices controller: device access is decided by eBPF
 * programs of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. The
 * program is built from the OCI rules like runc's devicefilter.go. */
#include "cgroup/convert.h"
#include "cgroup/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define R0 0
#define R1 1
#define R2 2
#define R3 3
#define R4 4
#define R5 5

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    struct bpf_insn i = {.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
    return i;
}

static int rule_access(const spec_dev_rule *r, int32_t *acc, capsa_err *e)
{
    const char *a = r->access ? r->access : "rwm";
    *acc = 0;
    for (; *a; a++) {
        switch (*a) {
        case 'r': *acc |= BPF_DEVCG_ACC_READ; break;
        case 'w': *acc |= BPF_DEVCG_ACC_WRITE; break;
        case 'm': *acc |= BPF_DEVCG_ACC_MKNOD; break;
        default:
            return cerr_set(e, EINVAL, "device rule: invalid access \"%s\" (want a subset "
                            "of rwm)", r->access);
        }
    }
    if (!*acc)
        return cerr_set(e, EINVAL, "device rule: empty access");
    return 0;
}

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

static bool matches_everything(const spec_dev_rule *r, int32_t acc)
{
    return (r->type == 0 || r->type == 'a') && !r->has_major && !r->has_minor && acc == ACC_ALL;
}

int cg_devfilter_build(const spec_dev_rule *rules, size_t n, struct bpf_insn **out,
                       size_t *len, capsa_err *e)
{
    /* Validate; a rule for every device makes all rules before it moot. */
    size_t first = 0;
    bool def_allow = false;
    for (size_t i = 0; i < n; i++) {
        const spec_dev_rule *r = &rules[i];
        int32_t acc;
        if (rule_access(r, &acc, e) < 0)
            return cerr_wrap(e, "devices[%zu]", i);
        if (r->type != 0 && r->type != 'a' && r->type != 'c' && r->type != 'b')
            return cerr_set(e, EINVAL, "devices[%zu]: invalid type '%c'", i, r->type);
        if ((r->has_major && (r->major < 0 || r->major > INT32_MAX)) ||
            (r->has_minor && (r->minor < 0 || r->minor > INT32_MAX)))
            return cerr_set(e, EINVAL, "devices[%zu]: major/minor out of range", i);
        if (matches_everything(r, acc)) {
            first = i + 1;
            def_allow = r->allow;
        }
    }
    /* 6 prologue + at most 8 per rule + 2 epilogue */
    struct bpf_insn *p = xcalloc(6 + 8 * (n - first) + 2, sizeof *p);
    size_t k = 0;
    /* ctx is struct bpf_cgroup_dev_ctx { u32 access_type; u32 major, minor; }
     * with access_type = (access << 16) | type. */
    p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R2, R1, 0, 0);
    p[k++] = insn(BPF_ALU | BPF_AND | BPF_K, R2, 0, 0, 0xFFFF);      /* R2 = type */
    p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R3, R1, 0, 0);
    p[k++] = insn(BPF_ALU | BPF_RSH | BPF_K, R3, 0, 0, 16);          /* R3 = access */
    p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R4, R1, 4, 0);          /* R4 = major */
    p[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R5, R1, 8, 0);          /* R5 = minor */
    /* Last rule first: the first block that matches decides. */
    for (size_t i = n; i-- > first;) {
        const spec_dev_rule *r = &rules[i];
        int32_t acc;
        rule_access(r, &acc, e);
        bool typed = r->type == 'c' || r->type == 'b';
        bool check_acc = acc != ACC_ALL;
        size_t blen = (typed ? 1 : 0) + (check_acc ? 3 : 0) + (r->has_major ? 1 : 0) +
                      (r->has_minor ? 1 : 0) + 2;
        size_t next = k + blen;  /* first instruction after this block */
#define OFF ((int16_t)(next - (k + 1)))
        if (typed) {
            int32_t t = r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
            p[k] = insn(BPF_JMP | BPF_JNE | BPF_K, R2, 0, OFF, t);
            k++;
        }
        if (check_acc) {
            p[k++] = insn(BPF_ALU | BPF_MOV | BPF_X, R1, R3, 0, 0);
            p[k++] = insn(BPF_ALU | BPF_AND | BPF_K, R1, 0, 0, acc);
            /* allow: every requested access is allowed (R3 & acc == R3);
             * deny: any requested access is denied (R3 & acc != 0). */
            if (r->allow)
                p[k] = insn(BPF_JMP | BPF_JNE | BPF_X, R1, R3, OFF, 0);
            else
                p[k] = insn(BPF_JMP | BPF_JEQ | BPF_K, R1, 0, OFF, 0);
            k++;
        }
        if (r->has_major) {
            p[k] = insn(BPF_JMP | BPF_JNE | BPF_K, R4, 0, OFF, (int32_t)r->major);
            k++;
        }
        if (r->has_minor) {
            p[k] = insn(BPF_JMP | BPF_JNE | BPF_K, R5, 0, OFF, (int32_t)r->minor);
            k++;
        }
#undef OFF
        p[k++] = insn(BPF_ALU | BPF_MOV | BPF_K, R0, 0, 0, r->allow ? 1 : 0);
        p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    }
    p[k++] = insn(BPF_ALU | BPF_MOV | BPF_K, R0, 0, 0, def_allow ? 1 : 0);
    p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    *out = p;
    *len = k;
    return 0;
}

static int bpf_sys(int cmd, union bpf_attr *attr)
{
    return (int)syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

static int load_prog(const struct bpf_insn *p, size_t n, capsa_err *e)
{
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.insns = (uint64_t)(uintptr_t)p;
    a.insn_cnt = (uint32_t)n;
    a.license = (uint64_t)(uintptr_t)"Apache";
    int fd = bpf_sys(BPF_PROG_LOAD, &a);
    if (fd >= 0)
        return fd;
    int err = errno;
    if (err == EPERM || err == ENOSYS)
        return cerr_sys(e, err, "load cgroup v2 device filter (bpf BPF_PROG_LOAD)");
    /* Load again with the verifier log for the message. */
    static char log[4096];
    log[0] = 0;
    a.log_level = 1;
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = sizeof log;
    fd = bpf_sys(BPF_PROG_LOAD, &a);
    if (fd >= 0)
        return fd;
    for (char *c = log; *c; c++)
        if (*c == '\n')
            *c = ' ';
    return cerr_set(e, err, "load cgroup v2 device filter (bpf BPF_PROG_LOAD): %s: %s",
                    strerror(err), log);
}

int cg2_devices(const char *dir, const spec_dev_rule *rules, size_t n, capsa_err *e)
{
    autofree struct bpf_insn *prog = NULL;
    size_t len;
    int r = cg_devfilter_build(rules, n, &prog, &len, e);
    if (r < 0)
        return r;
    autoclose int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return cerr_sys(e, errno, "open cgroup %s", dir);
    autoclose int pfd = load_prog(prog, len, e);
    if (pfd < 0)
        return pfd;

    /* The programs attached before (a previous setup or update): they are
     * replaced, after the new one is in place so no gap opens. */
    uint32_t ids[64];
    union bpf_attr q;
    memset(&q, 0, sizeof q);
    q.query.target_fd = (uint32_t)dfd;
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = (uint64_t)(uintptr_t)ids;
    q.query.prog_cnt = 64;
    if (bpf_sys(BPF_PROG_QUERY, &q) < 0)
        return cerr_sys(e, errno, "query device filters of %s (bpf BPF_PROG_QUERY)", dir);
    uint32_t nold = q.query.prog_cnt < 64 ? q.query.prog_cnt : 64;

    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.target_fd = (uint32_t)dfd;
    a.attach_bpf_fd = (uint32_t)pfd;
    a.attach_type = BPF_CGROUP_DEVICE;
    a.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf_sys(BPF_PROG_ATTACH, &a) < 0)
        return cerr_sys(e, errno, "attach device filter to %s (bpf BPF_PROG_ATTACH)", dir);

    for (uint32_t i = 0; i < nold; i++) {
        union bpf_attr g;
        memset(&g, 0, sizeof g);
        g.prog_id = ids[i];
        autoclose int ofd = bpf_sys(BPF_PROG_GET_FD_BY_ID, &g);
        if (ofd < 0) {
            if (errno == ENOENT)
                continue;
            return cerr_sys(e, errno, "get old device filter %u of %s", ids[i], dir);
        }
        union bpf_attr d;
        memset(&d, 0, sizeof d);
        d.target_fd = (uint32_t)dfd;
        d.attach_bpf_fd = (uint32_t)ofd;
        d.attach_type = BPF_CGROUP_DEVICE;
        if (bpf_sys(BPF_PROG_DETACH, &d) < 0 && errno != ENOENT)
            return cerr_sys(e, errno, "detach old device filter %u from %s", ids[i], dir);
    }
    return 0;
}
