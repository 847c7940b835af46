/* `capsa net-hook up|down`: veth networking as OCI hooks (createRuntime and
 * poststop), so that `capsa spec --net veth` and any other OCI engine can use it.
 * The OCI state arrives on stdin. Nothing is stored: every name and address is
 * derived from the container id, so `down` finds what `up` made. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "linux/rtnl.h"
#include "util/fs.h"

#define NET_LOCK "/run/capsa-net.lock"
#define BRIDGE_ALIAS "capsa"
#define PEER_NAME "eth0"

typedef struct {
    const char *bridge;      /* NULL: a routed /30 pair */
    const char *subnet;      /* NULL: the default range */
    struct in_addr net;      /* parsed subnet (host order in .s_addr is NOT used) */
    int prefix;
} net_opts;

/* FNV-1a: stable across builds and machines, so the host end's name and the
 * addresses are a pure function of the container id. */
static uint32_t id_hash(const char *id)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static void host_name(const char *id, char out[IF_NAMESIZE])
{
    snprintf(out, IF_NAMESIZE, "cv%08x", id_hash(id));
}

static int parse_cidr(const char *s, struct in_addr *net, int *prefix, capsa_err *e)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    char *end;
    if (!slash || (size_t)(slash - s) >= sizeof buf)
        return cerr_set(e, EINVAL, "--subnet %s: expected A.B.C.D/N", s);
    snprintf(buf, sizeof buf, "%.*s", (int)(slash - s), s);
    long n = strtol(slash + 1, &end, 10);
    if (inet_pton(AF_INET, buf, net) != 1 || *end || end == slash + 1 || n < 8 || n > 28)
        return cerr_set(e, EINVAL, "--subnet %s: expected A.B.C.D/N with N in 8..28", s);
    *prefix = (int)n;
    uint32_t mask = 0xffffffffu << (32 - n);
    net->s_addr = htonl(ntohl(net->s_addr) & mask);
    return 0;
}

static struct in_addr addr_at(struct in_addr net, uint32_t off)
{
    return (struct in_addr){htonl(ntohl(net.s_addr) + off)};
}

static int read_state(char **id, int *pid, capsa_err *e)
{
    autofree char *text = NULL;
    size_t len;
    int r = fs_read_fd(STDIN_FILENO, "the OCI state on stdin", &text, &len, e);
    if (r < 0)
        return r;
    json_error_t je;
    json_t *st = json_loads(text, 0, &je);
    const char *s = json_string_value(json_object_get(st, "id"));
    json_t *p = json_object_get(st, "pid");
    if (!s || !*s) {
        json_decref(st);
        return cerr_set(e, EINVAL, "the OCI state on stdin has no id (%s)",
                        st ? "missing" : je.text);
    }
    *id = xstrdup(s);
    *pid = json_is_integer(p) ? (int)json_integer_value(p) : 0;
    json_decref(st);
    return 0;
}

static int lock_net(capsa_err *e)
{
    int fd = open(NET_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return cerr_sys(e, errno, "open %s", NET_LOCK);
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR) {
            int err = errno;
            close(fd);
            return cerr_sys(e, err, "lock %s", NET_LOCK);
        }
    return fd;
}

/* A /30 for the pair that no host address overlaps: hash of the id, then the
 * next blocks. The default range is 169.254.0.0/16 minus its first and last
 * /24 (RFC 3927 reserves them). */
static int pick_pair(int nl, const char *id, const net_opts *o, struct in_addr *base,
                     capsa_err *e)
{
    struct in_addr net;
    uint32_t first, count;
    if (o->subnet) {
        net = o->net;
        first = 4;
        count = (1u << (32 - o->prefix)) / 4 - 2;
    } else {
        inet_pton(AF_INET, "169.254.0.0", &net);
        first = 256;
        count = (65536 - 512) / 4;
    }
    uint32_t h = id_hash(id);
    for (uint32_t i = 0; i < count && i < 256; i++) {
        struct in_addr b = addr_at(net, first + ((h + i) % count) * 4);
        int used = nl_addr4_in_use(nl, b, 30, e);
        if (used < 0)
            return used;
        if (!used) {
            *base = b;
            return 0;
        }
    }
    return cerr_set(e, EADDRINUSE, "no free /30 in %s", o->subnet ? o->subnet : "169.254.0.0/16");
}

static int bridge_ensure(int nl, const net_opts *o, int *index, capsa_err *e)
{
    capsa_err ignore = {0};
    if (nl_link_index(nl, o->bridge, index, &ignore) == 0)
        return 0;
    int r = nl_bridge_add(nl, o->bridge, BRIDGE_ALIAS, e);
    if (r == 0)
        r = nl_link_index(nl, o->bridge, index, e);
    if (r == 0)
        r = nl_addr4_add(nl, *index, addr_at(o->net, 1), o->prefix, e);
    if (r == 0)
        r = nl_link_up(nl, *index, e);
    if (r < 0) {
        nl_link_del(nl, o->bridge, &ignore);
        return r;
    }
    return 0;
}

static int same_netns(int pid, bool *same, capsa_err *e)
{
    char p[64];
    struct stat a, b;
    snprintf(p, sizeof p, "/proc/%d/ns/net", pid);
    if (stat(p, &a) < 0)
        return cerr_sys(e, errno, "stat %s", p);
    if (stat("/proc/self/ns/net", &b) < 0)
        return cerr_sys(e, errno, "stat /proc/self/ns/net");
    *same = a.st_ino == b.st_ino && a.st_dev == b.st_dev;
    return 0;
}

/* The container side: eth0 and lo up, the address, the default route. */
static int setup_inside(int cnl, struct in_addr addr, int prefix, struct in_addr gw,
                        capsa_err *e)
{
    int idx, lo;
    int r = nl_link_index(cnl, PEER_NAME, &idx, e);
    if (r == 0)
        r = nl_addr4_add(cnl, idx, addr, prefix, e);
    if (r == 0)
        r = nl_link_up(cnl, idx, e);
    if (r == 0)
        r = nl_link_index(cnl, "lo", &lo, e);
    if (r == 0)
        r = nl_link_up(cnl, lo, e);
    if (r == 0)
        r = nl_route4_default(cnl, idx, gw, e);
    return r < 0 ? cerr_wrap(e, "in the container") : 0;
}

static bool bridge_removable(const char *bridge);

static int net_up(const char *id, int pid, const net_opts *o, capsa_err *e)
{
    char name[IF_NAMESIZE], nsp[64];
    host_name(id, name);
    if (pid <= 0)
        return cerr_set(e, EINVAL, "the OCI state on stdin has no pid");
    bool same = false;
    int r = same_netns(pid, &same, e);
    if (r < 0)
        return r;
    if (same)
        return cerr_set(e, EINVAL, "container %s shares the host's network namespace "
                        "(a network namespace is needed for veth)", id);
    snprintf(nsp, sizeof nsp, "/proc/%d/ns/net", pid);
    autoclose int nsfd = open(nsp, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0)
        return cerr_sys(e, errno, "open %s", nsp);
    autoclose int lock = lock_net(e);
    if (lock < 0)
        return lock;
    autoclose int nl = nl_open(e);
    if (nl < 0)
        return nl;
    autoclose int cnl = nl_open_in_netns(nsfd, e);
    if (cnl < 0)
        return cnl;
    struct in_addr host_addr, ctr_addr;
    int ctr_prefix;
    if (o->bridge) {
        uint32_t hosts = (1u << (32 - o->prefix)) - 3;   /* not net, .1, broadcast */
        host_addr = addr_at(o->net, 1);
        ctr_addr = addr_at(o->net, 2 + id_hash(id) % hosts);
        ctr_prefix = o->prefix;
    } else {
        struct in_addr base = {0};
        if ((r = pick_pair(nl, id, o, &base, e)) < 0)
            return r;
        host_addr = addr_at(base, 1);
        ctr_addr = addr_at(base, 2);
        ctr_prefix = 30;
    }
    if ((r = nl_veth_add(nl, name, PEER_NAME, nsfd, e)) < 0)
        return r;
    int hidx, bidx;
    r = nl_link_index(nl, name, &hidx, e);
    if (r == 0 && o->bridge) {
        r = bridge_ensure(nl, o, &bidx, e);
        if (r == 0)
            r = nl_link_set_master(nl, hidx, bidx, e);
    } else if (r == 0) {
        r = nl_addr4_add(nl, hidx, host_addr, 30, e);
    }
    if (r == 0)
        r = nl_link_up(nl, hidx, e);
    if (r == 0)
        r = setup_inside(cnl, ctr_addr, ctr_prefix, host_addr, e);
    if (r < 0) {
        capsa_err ignore = {0};
        nl_link_del(nl, name, &ignore);
        if (o->bridge && bridge_removable(o->bridge))
            nl_link_del(nl, o->bridge, &ignore);
        return r;
    }
    char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
    fprintf(stderr, "capsa net-hook: %s: %s %s <-> %s/%d eth0\n", id, name,
            inet_ntop(AF_INET, &host_addr, a, sizeof a),
            inet_ntop(AF_INET, &ctr_addr, b, sizeof b), ctr_prefix);
    return 0;
}

/* A bridge is removed only when capsa made it (its alias) and no port is left. */
static bool bridge_removable(const char *bridge)
{
    char p[128];
    autofree char *alias = NULL;
    size_t len;
    capsa_err ignore = {0};
    snprintf(p, sizeof p, "/sys/class/net/%s/ifalias", bridge);
    if (fs_read(p, &alias, &len, &ignore) < 0)
        return false;
    alias[strcspn(alias, "\n")] = 0;
    if (strcmp(alias, BRIDGE_ALIAS))
        return false;
    snprintf(p, sizeof p, "/sys/class/net/%s/brif", bridge);
    DIR *d = opendir(p);
    if (!d)
        return false;
    bool empty = true;
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = false;
    closedir(d);
    return empty;
}

static int net_down(const char *id, const net_opts *o, capsa_err *e)
{
    char name[IF_NAMESIZE];
    host_name(id, name);
    autoclose int lock = lock_net(e);
    if (lock < 0)
        return lock;
    autoclose int nl = nl_open(e);
    if (nl < 0)
        return nl;
    int r = nl_link_del(nl, name, e);
    if (r == 0 && o->bridge && bridge_removable(o->bridge))
        r = nl_link_del(nl, o->bridge, e);
    return r;
}

static bool valid_ifname(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= 16 || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == ':' || *p <= ' ' || *p > '~')
            return false;
    return true;
}

int cmd_nethook(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    (void)c;
    static const struct option longopts[] = {
        {"bridge", required_argument, NULL, 'B'},
        {"subnet", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    net_opts o = {0};
    int opt, r;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("net-hook"), argc, argv, "B:S:", longopts, &opt, e)) == 0 &&
           opt != -1) {
        if (opt == 'B')
            o.bridge = optarg;
        else if (opt == 'S')
            o.subnet = optarg;
    }
    if (r)
        return r < 0 ? r : 0;
    if (argc - optind != 1 || (strcmp(argv[optind], "up") && strcmp(argv[optind], "down")))
        return cerr_set(e, EINVAL, "expected up or down (see capsa net-hook --help)");
    bool up = !strcmp(argv[optind], "up");
    if (o.bridge && !valid_ifname(o.bridge))
        return cerr_set(e, EINVAL, "--bridge %s: not a valid interface name", o.bridge);
    if (o.subnet && (r = parse_cidr(o.subnet, &o.net, &o.prefix, e)) < 0)
        return r;
    if (o.bridge && !o.subnet) {
        inet_pton(AF_INET, "169.254.100.0", &o.net);
        o.prefix = 24;
    }
    autofree char *id = NULL;
    int pid = 0;
    if ((r = read_state(&id, &pid, e)) < 0)
        return r;
    r = up ? net_up(id, pid, &o, e) : net_down(id, &o, e);
    return r < 0 ? cerr_wrap(e, "%s %s", argv[optind], id) : 0;
}
