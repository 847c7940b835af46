/* config.json top level: ociVersion, root, process, mounts, hooks, annotations.
 * The linux object lives in parse_linux.c and parse_resources.c. */
#include "spec/spec_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

static const char *const top_keys[] = {
    "ociVersion", "root", "process", "hostname", "domainname", "mounts", "hooks",
    "annotations", "linux", NULL,
};
static const char *const process_keys[] = {
    "terminal", "consoleSize", "user", "args", "commandLine", "env", "cwd", "capabilities",
    "rlimits", "noNewPrivileges", "apparmorProfile", "oomScoreAdj", "selinuxLabel",
    "scheduler", "ioPriority", "execCPUAffinity", NULL,
};
static const char *const hooks_keys[] = {
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
    NULL,
};

static int parse_root(pctx *c, json_t *o, void *arg)
{
    (void)arg;
    TRY(m_str(c, o, "path", REQ, &c->s->root_path));
    TRY(m_bool(c, o, "readonly", &c->s->root_readonly));
    return 0;
}

static int parse_console(pctx *c, json_t *o, void *arg)
{
    spec_console_size *cs = arg;
    cs->has_size = true;
    TRY(m_u32(c, o, "height", REQ, NULL, &cs->height));
    TRY(m_u32(c, o, "width", REQ, NULL, &cs->width));
    return 0;
}

static int parse_user(pctx *c, json_t *o, void *arg)
{
    spec_user *u = arg;
    TRY(m_u32(c, o, "uid", REQ, NULL, &u->uid));
    TRY(m_u32(c, o, "gid", REQ, NULL, &u->gid));
    TRY(m_u32(c, o, "umask", OPT, &u->has_umask, &u->umask));
    TRY(m_str(c, o, "username", OPT, &u->username));

    json_t *a = json_object_get(o, "additionalGids");
    if (!a || json_is_null(a))
        return 0;
    size_t old = p_push_key(c, "additionalGids");
    if (!json_is_array(a))
        return p_type(c, a, "an array of integers");
    u->additional_gids = xcalloc(json_array_size(a), sizeof *u->additional_gids);
    for (size_t i = 0; i < json_array_size(a); i++) {
        int64_t g;
        size_t o2 = p_push_idx(c, i);
        TRY(v_int(c, json_array_get(a, i), 0, UINT32_MAX, &g));
        u->additional_gids[u->n_additional_gids++] = (uint32_t)g;
        p_pop(c, o2);
    }
    p_pop(c, old);
    return 0;
}

/* A capability set: names resolved to a bit mask here so that an unknown
 * name is reported where it was written. */
static int caps_set(pctx *c, json_t *o, const char *key, uint64_t *mask)
{
    spec_strv names = {0};
    int r = m_strv(c, o, key, OPT, &names);
    if (r <= 0) {
        free_strv(&names);
        return r;
    }
    size_t old = p_push_key(c, key);
    for (size_t i = 0; i < names.n && r >= 0; i++) {
        int cap = spec_cap_from_name(names.v[i]);
        if (cap < 0) {
            char q[128];
            p_push_idx(c, i);
            r = p_err(c, "\"%s\": unknown capability", p_quote(q, sizeof q, names.v[i]));
        } else {
            *mask |= UINT64_C(1) << cap;
        }
    }
    p_pop(c, old);
    free_strv(&names);
    return r;
}

static int parse_caps(pctx *c, json_t *o, void *arg)
{
    spec_caps *caps = arg;
    caps->present = true;
    TRY(caps_set(c, o, "bounding", &caps->bounding));
    TRY(caps_set(c, o, "effective", &caps->effective));
    TRY(caps_set(c, o, "inheritable", &caps->inheritable));
    TRY(caps_set(c, o, "permitted", &caps->permitted));
    TRY(caps_set(c, o, "ambient", &caps->ambient));
    return 0;
}

static int parse_rlimit(pctx *c, json_t *o, void *arg)
{
    spec_rlimit *rl = arg;
    TRY(m_str(c, o, "type", REQ, &rl->type));
    rl->resource = spec_rlimit_from_name(rl->type);
    if (rl->resource < 0) {
        char q[128];
        size_t old = p_push_key(c, "type");
        TRY(p_err(c, "\"%s\": unknown rlimit", p_quote(q, sizeof q, rl->type)));
        p_pop(c, old);
    }
    TRY(m_u64(c, o, "hard", REQ, NULL, &rl->hard));
    TRY(m_u64(c, o, "soft", REQ, NULL, &rl->soft));
    if (rl->soft > rl->hard) {
        size_t old = p_push_key(c, "soft");
        TRY(p_err(c, "soft limit %" PRIu64 " is above the hard limit %" PRIu64, rl->soft,
                  rl->hard));
        p_pop(c, old);
    }
    return 0;
}

static const char *const sched_policies[] = {
    "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE",
    "SCHED_DEADLINE", NULL,
};

/* Bit i is the kernel's SCHED_FLAG_* value for sched_flags[i]. */
static const char *const sched_flags[] = {
    "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN",
    "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
    "SCHED_FLAG_UTIL_CLAMP_MAX", NULL,
};

static int parse_scheduler(pctx *c, json_t *o, void *arg)
{
    spec_scheduler *sc = arg;
    int64_t v;
    int r;
    TRY(m_enum(c, o, "policy", REQ, sched_policies, "scheduler policy", &sc->class_name));
    TRY(r = m_int(c, o, "nice", OPT, -20, 19, &v));
    if (r) {
        sc->has_nice = true;
        sc->nice = (int)v;
    }
    TRY(r = m_int(c, o, "priority", OPT, INT32_MIN, INT32_MAX, &v));
    if (r) {
        sc->has_priority = true;
        sc->priority = (int)v;
    }
    TRY(m_u64(c, o, "runtime", OPT, &sc->has_runtime, &sc->runtime));
    TRY(m_u64(c, o, "deadline", OPT, &sc->has_deadline, &sc->deadline));
    TRY(m_u64(c, o, "period", OPT, &sc->has_period, &sc->period));

    spec_strv flags = {0};
    r = m_strv(c, o, "flags", OPT, &flags);
    size_t old = p_push_key(c, "flags");
    for (size_t i = 0; r >= 0 && i < flags.n; i++) {
        int bit = name_index(sched_flags, flags.v[i]);
        if (bit < 0) {
            char q[128];
            p_push_idx(c, i);
            r = p_err(c, "\"%s\": unknown scheduler flag", p_quote(q, sizeof q, flags.v[i]));
        } else {
            sc->flags_mask |= UINT64_C(1) << bit;
        }
    }
    p_pop(c, old);
    free_strv(&flags);
    return r < 0 ? r : 0;
}

static const char *const ioprio_classes[] = {
    "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE", NULL,
};

static int parse_ioprio(pctx *c, json_t *o, void *arg)
{
    spec_ioprio *io = arg;
    int64_t v;
    int r;
    TRY(m_enum(c, o, "class", REQ, ioprio_classes, "I/O priority class", &io->class_name));
    TRY(r = m_int(c, o, "priority", OPT, 0, 7, &v));
    if (r)
        io->priority = (int)v;
    return 0;
}

static int parse_affinity(pctx *c, json_t *o, void *arg)
{
    spec_process *p = arg;
    TRY(m_str(c, o, "initial", OPT, &p->exec_cpu_affinity_initial_s));
    TRY(m_str(c, o, "final", OPT, &p->exec_cpu_affinity_final_s));
    return 0;
}

static int parse_process(pctx *c, json_t *o, void *arg)
{
    spec_process *p = arg;
    int64_t v;
    int r;
    c->s->has_process = true;
    note_unknown(c, o, process_keys);
    TRY(m_bool(c, o, "terminal", &p->terminal));
    TRY(m_obj(c, o, "consoleSize", OPT, parse_console, &p->console_size));
    TRY(m_obj(c, o, "user", REQ, parse_user, &p->user));
    TRY(m_strv(c, o, "args", REQ, &p->args));
    if (p->args.n == 0) {
        size_t old = p_push_key(c, "args");
        TRY(p_err(c, "must not be empty"));
        p_pop(c, old);
    }
    TRY(m_str(c, o, "commandLine", OPT, &p->command_line));
    TRY(r = m_strv(c, o, "env", OPT, &p->env));
    if (r) {
        size_t old = p_push_key(c, "env");
        TRY(v_env(c, &p->env));
        p_pop(c, old);
    }
    TRY(m_abs_path(c, o, "cwd", REQ, &p->cwd));
    TRY(m_obj(c, o, "capabilities", OPT, parse_caps, &p->caps));
    TRY(m_objarr(c, o, "rlimits", OPT, sizeof *p->rlimits, (void **)&p->rlimits,
                 &p->n_rlimits, parse_rlimit));
    for (size_t i = 0; i < p->n_rlimits; i++)
        for (size_t j = 0; j < i; j++)
            if (p->rlimits[i].resource == p->rlimits[j].resource) {
                size_t old = p_push_key(c, "rlimits");
                p_push_idx(c, i);
                p_push_key(c, "type");
                r = p_err(c, "duplicate rlimit \"%s\"", p->rlimits[i].type);
                p_pop(c, old);
                return r;
            }
    TRY(m_bool(c, o, "noNewPrivileges", &p->no_new_privileges));
    TRY(m_str(c, o, "apparmorProfile", OPT, &p->apparmor_profile));
    TRY(r = m_int(c, o, "oomScoreAdj", OPT, -1000, 1000, &v));
    if (r) {
        p->has_oom_score_adj = true;
        p->oom_score_adj = (int)v;
    }
    TRY(m_str(c, o, "selinuxLabel", OPT, &p->selinux_label));
    TRY(r = m_obj(c, o, "scheduler", OPT, parse_scheduler, &p->scheduler));
    p->has_scheduler = r > 0;
    TRY(r = m_obj(c, o, "ioPriority", OPT, parse_ioprio, &p->io_priority));
    p->has_io_priority = r > 0;
    TRY(m_obj(c, o, "execCPUAffinity", OPT, parse_affinity, p));
    return 0;
}

static int parse_mount(pctx *c, json_t *o, void *arg)
{
    spec_mount *m = arg;
    TRY(m_str(c, o, "destination", REQ, &m->destination));
    if (!m->destination[0]) {
        size_t old = p_push_key(c, "destination");
        int r = p_err(c, "must not be empty");
        p_pop(c, old);
        return r;
    }
    /* runtime-spec: a relative destination (deprecated) is relative to "/". */
    if (m->destination[0] != '/') {
        char *abs = xasprintf("/%s", m->destination);
        free(m->destination);
        m->destination = abs;
    }
    TRY(m_str(c, o, "source", OPT, &m->source));
    TRY(m_str(c, o, "type", OPT, &m->type));
    TRY(m_strv(c, o, "options", OPT, &m->options));
    TRY(m_idmaps(c, o, "uidMappings", &m->uid_mappings));
    TRY(m_idmaps(c, o, "gidMappings", &m->gid_mappings));
    return 0;
}

static int parse_hook(pctx *c, json_t *o, void *arg)
{
    spec_hook *h = arg;
    int64_t v;
    int r;
    TRY(m_abs_path(c, o, "path", REQ, &h->path));
    TRY(m_strv(c, o, "args", OPT, &h->args));
    TRY(r = m_strv(c, o, "env", OPT, &h->env));
    if (r) {
        size_t old = p_push_key(c, "env");
        TRY(v_env(c, &h->env));
        p_pop(c, old);
    }
    TRY(r = m_int(c, o, "timeout", OPT, 1, INT32_MAX, &v));
    if (r) {
        h->has_timeout = true;
        h->timeout = (int)v;
    }
    return 0;
}

static int hook_list(pctx *c, json_t *o, const char *key, spec_hooks_list *l)
{
    return m_objarr(c, o, key, OPT, sizeof *l->v, (void **)&l->v, &l->n, parse_hook);
}

static int parse_hooks(pctx *c, json_t *o, void *arg)
{
    spec_hooks *h = arg;
    c->s->has_hooks = true;
    note_unknown(c, o, hooks_keys);
    TRY(hook_list(c, o, "prestart", &h->prestart));
    TRY(hook_list(c, o, "createRuntime", &h->create_runtime));
    TRY(hook_list(c, o, "createContainer", &h->create_container));
    TRY(hook_list(c, o, "startContainer", &h->start_container));
    TRY(hook_list(c, o, "poststart", &h->poststart));
    TRY(hook_list(c, o, "poststop", &h->poststop));
    return 0;
}

static int parse_top(pctx *c, json_t *o)
{
    spec *s = c->s;
    int r;
    TRY(r = m_str(c, o, "ociVersion", REQ, &s->oci_version));
    /* Any 1.x (1.0.0 .. 1.2.x as written by engines, with -dev/-rc suffixes, and newer
     * 1.x whose new fields are ignored or refused one by one). runc 1.1.5 takes any
     * string; capsa refuses other majors: it reads the file by 1.x rules only. */
    unsigned minor = 0;
    if (strncmp(s->oci_version, "1.", 2) != 0) {
        char q[128];
        p_push_key(c, "ociVersion");
        return p_err(c, "unsupported version \"%s\" (capsa implements runtime-spec 1.x: "
                     "write the 1.x version the config follows, e.g. \"1.0.2\")",
                     p_quote(q, sizeof q, s->oci_version));
    }
    if (sscanf(s->oci_version + 2, "%u", &minor) == 1 && minor > 2) {
        char q[128];
        log_debug("%s: ociVersion \"%s\" is newer than runtime-spec 1.2: read as 1.2, its "
                  "new fields are ignored or refused one by one", s->fname,
                  p_quote(q, sizeof q, s->oci_version));
    }
    note_unknown(c, o, top_keys);
    TRY(m_obj(c, o, "root", OPT, parse_root, NULL));
    TRY(m_obj(c, o, "process", OPT, parse_process, &s->process));
    TRY(m_str(c, o, "hostname", OPT, &s->hostname));
    TRY(m_str(c, o, "domainname", OPT, &s->domainname));
    TRY(m_objarr(c, o, "mounts", OPT, sizeof *s->mounts, (void **)&s->mounts, &s->n_mounts,
                 parse_mount));
    TRY(m_obj(c, o, "hooks", OPT, parse_hooks, &s->hooks));
    TRY(m_map(c, o, "annotations", &s->annotations));
    TRY(r = m_obj(c, o, "linux", OPT, parse_linux, &s->linux));
    s->has_linux = r > 0;
    return 0;
}

/* Absent lists become empty ones so that users can hand v straight to
 * execve() or loop over it up to NULL. */
static void fill(spec_strv *v)
{
    if (!v->v)
        v->v = xcalloc(1, sizeof *v->v);
}

static void fill_hooks(spec_hooks_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        fill(&l->v[i].args);
        fill(&l->v[i].env);
    }
}

static void fill_lists(spec *s)
{
    fill(&s->process.args);
    fill(&s->process.env);
    fill(&s->process.exec_cpu_affinity_initial);
    for (size_t i = 0; i < s->n_mounts; i++)
        fill(&s->mounts[i].options);
    fill_hooks(&s->hooks.prestart);
    fill_hooks(&s->hooks.create_runtime);
    fill_hooks(&s->hooks.create_container);
    fill_hooks(&s->hooks.start_container);
    fill_hooks(&s->hooks.poststart);
    fill_hooks(&s->hooks.poststop);
    spec_linux *l = &s->linux;
    fill(&l->seccomp.architectures);
    fill(&l->seccomp.flags);
    for (size_t i = 0; i < l->seccomp.n_syscalls; i++)
        fill(&l->seccomp.syscalls[i].names);
    fill(&l->masked_paths);
    fill(&l->readonly_paths);
    fill(&l->personality_flags);
}

/* `capsa exec --process FILE`: a file holding only a process object. */
static int parse_top_process(pctx *c, json_t *o)
{
    c->s->has_process = true;
    return parse_process(c, o, &c->s->process);
}

static int parse_doc(const char *text, size_t len, const char *fname, spec **out,
                     int (*top)(pctx *, json_t *), capsa_err *e);

int spec_parse(const char *text, size_t len, const char *fname, spec **out, capsa_err *e)
{
    return parse_doc(text, len, fname, out, parse_top, e);
}

int spec_parse_process(const char *text, size_t len, const char *fname, spec **out, capsa_err *e)
{
    return parse_doc(text, len, fname, out, parse_top_process, e);
}

static int parse_doc(const char *text, size_t len, const char *fname, spec **out,
                     int (*top)(pctx *, json_t *), capsa_err *e)
{
    *out = NULL;
    spec *s = xcalloc(1, sizeof *s);
    s->fname = xstrdup(fname ? fname : "config.json");

    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        int r = cerr_set(e, EINVAL, "%s:%d:%d: invalid JSON: %s", s->fname, jerr.line,
                         jerr.column, jerr.text);
        spec_free(s);
        return r;
    }
    s->pos = jsonpos_build(text, len);

    pctx c = {.s = s, .e = e};
    int r;
    if (!json_is_object(root))
        r = p_type(&c, root, "an object");
    else
        r = top(&c, root);
    free(c.path);
    json_decref(root);
    if (r < 0) {
        spec_free(s);
        return r;
    }
    fill_lists(s);
    *out = s;
    return 0;
}

static int load_doc(const char *path, spec **out, bool process_only, char **text, size_t *tlen,
                    capsa_err *e);

int spec_load(const char *path, spec **out, capsa_err *e)
{
    return load_doc(path, out, false, NULL, NULL, e);
}

int spec_load_text(const char *path, spec **out, char **text, size_t *len, capsa_err *e)
{
    return load_doc(path, out, false, text, len, e);
}

int spec_load_process(const char *path, spec **out, capsa_err *e)
{
    return load_doc(path, out, true, NULL, NULL, e);
}

static int load_doc(const char *path, spec **out, bool process_only, char **text, size_t *tlen,
                    capsa_err *e)
{
    *out = NULL;
    autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cerr_sys(e, errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cerr_sys(e, errno, "stat %s", path);
    if (!S_ISREG(st.st_mode))
        return cerr_set(e, EINVAL, "%s: not a regular file", path);

    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, len = 0;
    autofree char *buf = xmalloc(cap);
    for (;;) {
        if (len == cap)
            buf = xrealloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cerr_sys(e, errno, "read %s", path);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    int r = process_only ? spec_parse_process(buf, len, path, out, e)
                         : spec_parse(buf, len, path, out, e);
    if (r == 0 && text) {
        *text = buf;
        *tlen = len;
        buf = NULL;
    }
    return r;
}
