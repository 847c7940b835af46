#include "linux/mounts.h"

#include <errno.h>
#include <linux/mount.h>
#include <string.h>
#include <sys/mount.h>

/* The options runc accepts (runc libcontainer/specconv). */
static const struct {
    const char *name;
    bool clear;
    unsigned long flag;
} flag_opts[] = {
    {"async", true, MS_SYNCHRONOUS},  {"atime", true, MS_NOATIME},
    {"defaults", false, 0},           {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME}, {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},        {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME}, {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},     {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},       {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},     {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME}, {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME}, {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},     {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},   {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},          {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME}, {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
};

static const struct {
    const char *name;
    unsigned long flag;
} prop_opts[] = {
    {"private", MS_PRIVATE},   {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},     {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},       {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

/* Recursive attributes (runtime-spec 1.1, mount_setattr with AT_RECURSIVE). */
static const struct {
    const char *name;
    bool clear;
    uint64_t attr;
} rec_opts[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},     {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID}, {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},   {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC}, {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

int mount_parse_options(char *const *opts, mount_opts *o, capsa_err *e)
{
    memset(o, 0, sizeof *o);
    size_t dlen = 0;
    for (; opts && *opts; opts++) {
        const char *s = *opts;
        bool done = false;
        if (!strcmp(s, "bind") || !strcmp(s, "rbind")) {
            o->bind = true;
            o->rec |= s[0] == 'r';
            continue;
        }
        for (size_t i = 0; !done && i < sizeof flag_opts / sizeof *flag_opts; i++)
            if (!strcmp(s, flag_opts[i].name)) {
                if (flag_opts[i].clear) {
                    o->flags &= ~flag_opts[i].flag;
                    o->clear |= flag_opts[i].flag;
                } else {
                    o->flags |= flag_opts[i].flag;
                    o->clear &= ~flag_opts[i].flag;
                }
                done = true;
            }
        for (size_t i = 0; !done && i < sizeof prop_opts / sizeof *prop_opts; i++)
            if (!strcmp(s, prop_opts[i].name)) {
                o->propagation = prop_opts[i].flag;
                done = true;
            }
        for (size_t i = 0; !done && i < sizeof rec_opts / sizeof *rec_opts; i++)
            if (!strcmp(s, rec_opts[i].name)) {
                if (rec_opts[i].clear) {
                    o->rec_clr |= rec_opts[i].attr;
                    o->rec_set &= ~rec_opts[i].attr;
                } else {
                    o->rec_set |= rec_opts[i].attr;
                    o->rec_clr &= ~rec_opts[i].attr;
                }
                /* atime modes are one field: setting one clears the others */
                if (rec_opts[i].attr & MOUNT_ATTR__ATIME)
                    o->rec_clr |= MOUNT_ATTR__ATIME;
                done = true;
            }
        if (done)
            continue;
        if (!strcmp(s, "tmpcopyup")) {
            o->tmpcopyup = true;
            continue;
        }
        /* idmap/ridmap name what the mount's uidMappings/gidMappings do. */
        if (!strcmp(s, "idmap") || !strcmp(s, "ridmap")) {
            o->rec |= s[0] == 'r';
            continue;
        }
        if (0)
            return cerr_set(e, ENOTSUP, "mount option \"%s\": not supported by capsa yet", s);
        size_t n = strlen(s);
        if (dlen + n + 2 > sizeof o->data)
            return cerr_set(e, E2BIG, "mount options too long");
        if (dlen)
            o->data[dlen++] = ',';
        memcpy(o->data + dlen, s, n + 1);
        dlen += n;
    }
    return 0;
}

void mount_flags_to_attr(unsigned long flags, unsigned long clear, uint64_t *set, uint64_t *clr)
{
    static const struct { unsigned long ms; uint64_t attr; } map[] = {
        {MS_RDONLY, MOUNT_ATTR_RDONLY}, {MS_NOSUID, MOUNT_ATTR_NOSUID},
        {MS_NODEV, MOUNT_ATTR_NODEV},   {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
        {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME},
    };
    *set = *clr = 0;
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        if (flags & map[i].ms)
            *set |= map[i].attr;
        if (clear & map[i].ms)
            *clr |= map[i].attr;
    }
    if (flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)) {
        *clr |= MOUNT_ATTR__ATIME;
        *set |= (flags & MS_NOATIME) ? MOUNT_ATTR_NOATIME
              : (flags & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME : MOUNT_ATTR_RELATIME;
    }
}

size_t mount_known_options(const char **out, size_t cap)
{
    size_t n = 0;
    if (n < cap)
        out[n++] = "bind";
    if (n < cap)
        out[n++] = "rbind";
    for (size_t i = 0; i < sizeof flag_opts / sizeof *flag_opts && n < cap; i++)
        out[n++] = flag_opts[i].name;
    for (size_t i = 0; i < sizeof prop_opts / sizeof *prop_opts && n < cap; i++)
        out[n++] = prop_opts[i].name;
    for (size_t i = 0; i < sizeof rec_opts / sizeof *rec_opts && n < cap; i++)
        out[n++] = rec_opts[i].name;
    return n;
}
