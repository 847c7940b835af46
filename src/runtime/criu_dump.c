/* checkpoint: the dump half of the CRIU module (criu.h; what is restorable and
 * how is said in criu.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "runtime/container.h"
#include "runtime/criu.h"
#include "runtime/criu_int.h"
#include "util/fs.h"
#include "util/mountinfo.h"

static bool mnt_in(const mountinfo *mi, int id)
{
    for (size_t i = 0; i < mi->n; i++)
        if (mi->v[i].id == id)
            return true;
    return false;
}

/* Each stdio fd of init: a pipe's "pipe:[ino]" (rewired at restore), a file on
 * a host mount the container does not have "file[mnt:ino]" (marked external
 * here), otherwise nothing (CRIU handles it or refuses it). */
static int stdio_keys(criu_opts *o, pid_t pid, const mountinfo *mi, char *out, size_t n,
                      capsa_err *e)
{
    *out = 0;
    for (int fd = 0; fd < 3; fd++) {
        char path[64], link[PATH_MAX] = "", key[PATH_MAX + 32] = "";
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
        ssize_t k = readlink(path, link, sizeof link - 1);
        if (k > 0)
            link[k] = 0;
        if (!strncmp(link, "pipe:", 5)) {
            snprintf(key, sizeof key, "%s", link);
        } else if (link[0] == '/') {
            char info[64];
            snprintf(info, sizeof info, "/proc/%d/fdinfo/%d", (int)pid, fd);
            autofree char *text = NULL;
            size_t len;
            capsa_err ignore;
            struct stat st;
            const char *m = fs_read(info, &text, &len, &ignore) == 0 ? strstr(text, "mnt_id:") : NULL;
            int mnt = m ? atoi(m + 7) : -1;
            if (m && !mnt_in(mi, mnt) && stat(path, &st) == 0) {
                snprintf(key, sizeof key, "file[%x:%llx]", (unsigned)mnt,
                         (unsigned long long)st.st_ino);
                if (crl.add_external(o, key) < 0)
                    return cerr_set(e, ENOMEM, "criu: external %s", key);
            }
        }
        snprintf(out + strlen(out), n - strlen(out), "%s\n", key);
    }
    return 0;
}

/* A line "cgroup\tDEST\tHOST" for each cgroup hierarchy bound into the
 * container from a host cgroup directory (a "cgroup" mount without a cgroup
 * namespace: runc's and capsa's binds of the container's own cgroup dirs), and
 * DEST external, as runc does: CRIU cannot restore a bind of a cgroup
 * subdirectory by itself. HOST is the host's mount of that hierarchy; restore
 * binds the new container's cgroup below it. */
static int dump_cgroup_mounts(criu_opts *o, const mountinfo *mi, char **buf, size_t *len,
                              size_t *cap, capsa_err *e)
{
    mountinfo host = {0};
    bool have_host = false;
    int r = 0;
    for (size_t i = 0; r == 0 && i < mi->n; i++) {
        const mount_entry *m = &mi->v[i];
        if ((strcmp(m->fstype, "cgroup") && strcmp(m->fstype, "cgroup2")) ||
            !strcmp(m->root, "/"))
            continue;
        if (!have_host && (r = mountinfo_read(getpid(), &host, e)) < 0)
            break;
        have_host = true;
        const char *hmnt = NULL;
        for (size_t j = 0; j < host.n && !hmnt; j++)
            if (host.v[j].major == m->major && host.v[j].minor == m->minor &&
                !strcmp(host.v[j].root, "/"))
                hmnt = host.v[j].mnt;
        if (!hmnt) {
            r = cerr_set(e, ENOTSUP, "cgroup mount %s: the host has no mount of its hierarchy "
                         "to restore it from", m->mnt);
            break;
        }
        if (strpbrk(m->mnt, "\t\n") || strpbrk(hmnt, "\t\n")) {
            r = cerr_set(e, EINVAL, "mount destination %s: cannot be checkpointed", m->mnt);
            break;
        }
        if (crl.add_ext_mount(o, m->mnt, m->mnt) < 0) {
            r = cerr_set(e, ENOMEM, "criu: external mount %s", m->mnt);
            break;
        }
        size_t need = strlen(m->mnt) + strlen(hmnt) + 10;
        if (*len + need >= *cap)
            *buf = xrealloc(*buf, *cap = 2 * (*len + need));
        *len += (size_t)sprintf(*buf + *len, "cgroup\t%s\t%s\n", m->mnt, hmnt);
    }
    if (have_host)
        mountinfo_free(&host);
    return r;
}

/* Is DST the destination of a line of buf ("KIND\tDST[\t...]\n")? */
static bool listed_dest(const char *buf, const char *dst)
{
    size_t n = strlen(dst);
    for (const char *l = buf; *l; l = strchr(l, '\n') + 1) {
        const char *t = strchr(l, '\t');
        if (t && t < strchr(l, '\n') && !strncmp(t + 1, dst, n) &&
            (t[1 + n] == '\t' || t[1 + n] == '\n'))
            return true;
    }
    return false;
}

/* A line "dev\tDEST\tMAJ:MIN" for each device node bound from the host's node
 * of the same path (in a user namespace, where mknod is refused, capsa binds
 * /dev/null, /dev/tty, ... and linux.devices from the host: src/linux/dev.c),
 * and DEST external, as runc does for its devices; restore binds the host's node
 * again after checking it is the same device. Masked paths and config binds are
 * listed already (buf). */
static int dump_dev_mounts(criu_opts *o, pid_t pid, const mountinfo *mi, char **buf,
                           size_t *len, size_t *cap, capsa_err *e)
{
    for (size_t i = 0; i < mi->n; i++) {
        const mount_entry *m = &mi->v[i];
        /* a pty bound on /dev/console is of the container's devpts: CRIU's */
        if (!strcmp(m->mnt, "/") || !strcmp(m->fstype, "devpts") || listed_dest(*buf, m->mnt))
            continue;
        autofree char *p = xasprintf("/proc/%d/root%s", (int)pid, m->mnt);
        struct stat st;
        if (stat(p, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
            continue;
        if (strpbrk(m->mnt, "\t\n"))
            return cerr_set(e, EINVAL, "device %s: cannot be checkpointed", m->mnt);
        if (crl.add_ext_mount(o, m->mnt, m->mnt) < 0)
            return cerr_set(e, ENOMEM, "criu: external mount %s", m->mnt);
        size_t need = strlen(m->mnt) + 40;
        if (*len + need >= *cap)
            *buf = xrealloc(*buf, *cap = 2 * (*len + need));
        *len += (size_t)sprintf(*buf + *len, "dev\t%s\t%c%u:%u\n", m->mnt,
                                S_ISBLK(st.st_mode) ? 'b' : 'c', major(st.st_rdev),
                                minor(st.st_rdev));
    }
    return 0;
}

/* Bind mounts (by destination), masked files (binds of /dev/null) and the
 * cgroup binds (init's mounts, mi). */
static int dump_mounts(criu_opts *o, pid_t pid, const spec *s, const mountinfo *mi, char **out,
                       capsa_err *e)
{
    size_t cap = 256, len = 0;
    char *buf = xmalloc(cap);
    buf[0] = 0;
    for (size_t i = 0; i < s->n_mounts + s->linux.masked_paths.n; i++) {
        const char *kind, *dst;
        if (i < s->n_mounts) {
            if (!cr_is_bind(&s->mounts[i]))
                continue;
            kind = "bind";
            dst = s->mounts[i].destination;
        } else {
            dst = s->linux.masked_paths.v[i - s->n_mounts];
            autofree char *p = xasprintf("/proc/%d/root%s", (int)pid, dst);
            struct stat st;
            if (stat(p, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
                continue;
            kind = "null";
        }
        if (strchr(dst, '\n') || strchr(dst, '\t')) {
            free(buf);
            return cerr_set(e, EINVAL, "mount destination %s: cannot be checkpointed", dst);
        }
        if (crl.add_ext_mount(o, dst, dst) < 0) {
            free(buf);
            return cerr_set(e, ENOMEM, "criu: external mount %s", dst);
        }
        size_t need = strlen(kind) + strlen(dst) + 3;
        if (len + need >= cap)
            buf = xrealloc(buf, cap = 2 * (len + need));
        len += (size_t)sprintf(buf + len, "%s\t%s\n", kind, dst);
    }
    int r = dump_dev_mounts(o, pid, mi, &buf, &len, &cap, e);
    if (r == 0)
        r = dump_cgroup_mounts(o, mi, &buf, &len, &cap, e);
    if (r < 0) {
        free(buf);
        return r;
    }
    *out = buf;
    return 0;
}

/* CRIU refuses a tree whose session leader is outside the container's pid
 * namespace: the init of a container made before capsa's init called setsid(). */
static bool session_outside(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    autofree char *text = NULL;
    size_t len;
    capsa_err ignore;
    const char *l = fs_read(path, &text, &len, &ignore) == 0 ? strstr(text, "\nNSsid:") : NULL;
    if (!l)
        return false;
    const char *end = strchr(l + 1, '\n'), *last = end;
    while (last > l && (last[-1] == ' ' || last[-1] == '\t'))
        last--;
    while (last > l && last[-1] != ' ' && last[-1] != '\t')
        last--;
    return atoi(last) == 0;   /* the innermost namespace's view: 0 = outside */
}

/* The container's freezer cgroup directory, as runc hands it to CRIU: CRIU
 * freezes the tree with it (not with ptrace), so a paused container (containerd
 * pauses before it checkpoints) can be dumped, and is left as it was. */
static bool freezer_of(pid_t pid, char *out, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    autofree char *text = NULL;
    size_t len;
    capsa_err ignore;
    if (fs_read(path, &text, &len, &ignore) < 0)
        return false;
    bool v2 = cgroup_mode() == CG_UNIFIED;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        bool hit = v2 ? !c1[1] : false;
        char *save2 = NULL;
        for (char *c = v2 ? NULL : strtok_r(c1 + 1, ",", &save2); c && !hit;
             c = strtok_r(NULL, ",", &save2))
            hit = !strcmp(c, "freezer");
        if (!hit)
            continue;
        snprintf(out, n, "/sys/fs/cgroup%s%s", v2 ? "" : "/freezer", c2 + 1);
        struct stat st;
        return stat(out, &st) == 0 && S_ISDIR(st.st_mode);
    }
    return false;
}

int rt_checkpoint(const rt_ctx *c, const char *id, const rt_checkpoint_opts *o, capsa_err *e)
{
    int mode, r;
    if ((r = cr_cg_mode(o->cg_mode, &mode, e)) < 0 || (r = cr_need("checkpoint", e)) < 0)
        return r;
    if (o->pre_dump) {
        struct cr_features f = {.mem_track = true};
        criu_opts *fo = cr_new_opts();
        if (!fo || crl.feature_check(fo, &f, sizeof f) < 0 || !f.mem_track)
            r = cerr_set(e, ENOTSUP, "--pre-dump: this kernel has no soft-dirty memory tracking "
                                     "(CONFIG_MEM_SOFT_DIRTY), which CRIU's pre-dump needs");
        if (fo)
            crl.free_opts(fo);
        if (r < 0)
            return r;
    }
    int dirfd;
    if ((r = ct_open_locked(c, id, &dirfd, e)) < 0)
        return r;
    cstate st;
    if ((r = state_read(dirfd, &st, e)) < 0) {
        r = ct_state_error(r, id, e);
        close(dirfd);
        return r;
    }
    spec *s = NULL;
    criu_opts *op = NULL;
    autofree char *mounts = NULL;
    autoclose int imgfd = -1;
    autoclose int workfd = -1;
    const char *img = o->image_path ? o->image_path : "checkpoint";
    const char *work = o->work_path ? o->work_path : img;
    const char *log = o->pre_dump ? "pre-dump.log" : "dump.log";
    const char *status = ct_status(dirfd, &st);
    if (strcmp(status, "running") && strcmp(status, "paused")) {
        r = cerr_set(e, EINVAL, "cannot checkpoint a container that is %s (only a running or "
                     "paused one)", status);
        goto out;
    }
    if (!(s = ct_hooks_config(dirfd, &st))) {
        r = cerr_set(e, ENOENT, "cannot read the container's config.json (bundle %s)", st.bundle);
        goto out;
    }
    if (session_outside(st.pid)) {
        r = cerr_set(e, ENOTSUP, "container init %d is not in a session of its own (its session "
                     "leader is outside the container's pid namespace), which CRIU cannot dump; "
                     "containers whose init calls setsid(), as runc's does, can be", (int)st.pid);
        goto out;
    }
    if ((r = cr_spec_check(s, e)) < 0 || (r = cr_open_dir(img, true, &imgfd, e)) < 0 ||
        (r = cr_open_dir(work, true, &workfd, e)) < 0)
        goto out;
    if (!(op = cr_new_opts())) {
        r = cerr_set(e, ENOMEM, "criu: options");
        goto out;
    }
    mountinfo mi = {0};
    char keys[3 * (PATH_MAX + 40)];
    if ((r = mountinfo_read(st.pid, &mi, e)) == 0) {
        if ((r = stdio_keys(op, st.pid, &mi, keys, sizeof keys, e)) == 0)
            r = dump_mounts(op, st.pid, s, &mi, &mounts, e);
        mountinfo_free(&mi);
    }
    if (r < 0 || (r = cr_ns_dump(op, s, st.pid, e)) < 0)
        goto out;
    char freezer[PATH_MAX];
    if (freezer_of(st.pid, freezer, sizeof freezer) &&
        crl.set_freeze_cgroup(op, freezer) < 0) {
        r = cerr_set(e, ENOMEM, "criu: freeze cgroup");
        goto out;
    }
    crl.set_pid(op, st.pid);
    crl.set_images_dir_fd(op, imgfd);
    crl.set_work_dir_fd(op, workfd);
    crl.set_log_level(op, 4);
    crl.set_log_file(op, log);
    crl.set_root(op, st.rootfs);
    crl.set_manage_cgroups(op, mode != CR_CG_IGNORE);
    crl.set_manage_cgroups_mode(op, mode);
    crl.set_leave_running(op, o->leave_running || o->pre_dump);
    crl.set_tcp_established(op, o->tcp_established);
    crl.set_ext_unix_sk(op, o->ext_unix_sk);
    crl.set_shell_job(op, o->shell_job);
    crl.set_file_locks(op, o->file_locks);
    if (o->parent_path && crl.set_parent_images(op, o->parent_path) < 0) {
        r = cerr_set(e, ENOMEM, "criu: parent path");
        goto out;
    }
    if (o->pre_dump)
        crl.set_track_mem(op, true);
    /* A terminal's master is outside the container (with the console socket's
     * receiver): CRIU dumps the slave alone, as runc asks it. */
    if (s->has_process && s->process.terminal)
        crl.set_orphan_pts_master(op, true);
    if ((r = fs_write_atomic_at(imgfd, CR_STDIO_FILE, keys, strlen(keys), 0600, e)) < 0 ||
        (r = fs_write_atomic_at(imgfd, CR_MOUNTS_FILE, mounts, strlen(mounts), 0600, e)) < 0)
        goto out;
    r = o->pre_dump ? crl.pre_dump(op) : crl.dump(op);
    if (r < 0) {
        r = cr_failed(r, o->pre_dump ? "pre-dump" : "dump", work, workfd, log, e);
        goto out;
    }
    r = 0;
    /* As runc: without --leave-running the container is gone (CRIU killed it). */
    if (!o->leave_running && !o->pre_dump) {
        capsa_err ignore;
        ct_destroy(c, dirfd, id, &st, &ignore);
    }
out:
    if (op)
        crl.free_opts(op);
    if (s)
        spec_free(s);
    state_free(&st);
    close(dirfd);
    return r;
}
