/* rtnetlink by hand: a request is one nlmsghdr + family header + attributes in a
 * fixed buffer; every request asks for an ACK and the kernel's errno is the
 * result. Nothing here touches an interface the caller did not name. */
#include "linux/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    union {
        struct nlmsghdr h;
        char buf[4096];
    };
} nl_msg;

static void *msg_tail(nl_msg *m)
{
    return m->buf + NLMSG_ALIGN(m->h.nlmsg_len);
}

static void *msg_init(nl_msg *m, int type, int flags, size_t hdr_len)
{
    memset(m, 0, sizeof *m);
    m->h.nlmsg_len = NLMSG_LENGTH(hdr_len);
    m->h.nlmsg_type = (uint16_t)type;
    m->h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
    return NLMSG_DATA(&m->h);
}

static struct rtattr *attr_put(nl_msg *m, int type, const void *data, size_t len)
{
    struct rtattr *a = msg_tail(m);
    size_t need = NLMSG_ALIGN(m->h.nlmsg_len) + RTA_SPACE(len);
    if (need > sizeof m->buf)
        return NULL;   /* our messages are far smaller; attr_put's callers are fixed */
    a->rta_type = (unsigned short)type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len)
        memcpy(RTA_DATA(a), data, len);
    m->h.nlmsg_len = (uint32_t)need;
    return a;
}

static void attr_str(nl_msg *m, int type, const char *s)
{
    attr_put(m, type, s, strlen(s) + 1);
}

static void attr_u32(nl_msg *m, int type, uint32_t v)
{
    attr_put(m, type, &v, sizeof v);
}

static struct rtattr *nest_start(nl_msg *m, int type)
{
    return attr_put(m, type, NULL, 0);
}

static void nest_end(nl_msg *m, struct rtattr *a)
{
    a->rta_len = (unsigned short)((char *)msg_tail(m) - (char *)a);
}

int nl_open(capsa_err *e)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return cerr_sys(e, errno, "netlink route socket");
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int err = errno;
        close(fd);
        return cerr_sys(e, err, "bind netlink route socket");
    }
    return fd;
}

int nl_open_in_netns(int nsfd, capsa_err *e)
{
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return cerr_sys(e, errno, "open /proc/self/ns/net");
    if (setns(nsfd, CLONE_NEWNET) < 0) {
        int err = errno;
        close(self);
        return cerr_sys(e, err, "setns into the container's network namespace");
    }
    int fd = nl_open(e);
    if (setns(self, CLONE_NEWNET) < 0) {
        /* Going on in the container's namespace would configure the wrong host. */
        int err = errno;
        close(self);
        if (fd >= 0)
            close(fd);
        return cerr_sys(e, err, "setns back into the host network namespace");
    }
    close(self);
    return fd;
}

/* Send one request and read until its ACK (or error); with `reply`, the first
 * non-ACK message of the answer is copied there. Returns 0 or -errno. */
static int talk(int fd, nl_msg *m, nl_msg *reply)
{
    static uint32_t seq;
    m->h.nlmsg_seq = ++seq;
    struct sockaddr_nl to = {.nl_family = AF_NETLINK};
    ssize_t n;
    do
        n = sendto(fd, m->buf, m->h.nlmsg_len, 0, (struct sockaddr *)&to, sizeof to);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    bool got_reply = false;
    for (;;) {
        char buf[16384];
        do
            n = recv(fd, buf, sizeof buf, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return -errno;
        size_t left = (size_t)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != m->h.nlmsg_seq)
                continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *err = NLMSG_DATA(h);
                return err->error;
            }
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (reply && !got_reply && h->nlmsg_len <= sizeof reply->buf) {
                memcpy(reply->buf, h, h->nlmsg_len);
                got_reply = true;
            }
        }
    }
}

int nl_link_index(int fd, const char *name, int *index, capsa_err *e)
{
    nl_msg m, r;
    msg_init(&m, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
    attr_str(&m, IFLA_IFNAME, name);
    memset(&r, 0, sizeof r);
    int k = talk(fd, &m, &r);
    if (k == 0 && r.h.nlmsg_type != RTM_NEWLINK)
        k = -ENODEV;
    if (k < 0)
        return cerr_sys(e, -k, "look up link %s", name);
    *index = ((struct ifinfomsg *)NLMSG_DATA(&r.h))->ifi_index;
    return 0;
}

int nl_veth_add(int fd, const char *host, const char *peer, int peer_nsfd, capsa_err *e)
{
    nl_msg m;
    msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
    attr_str(&m, IFLA_IFNAME, host);
    struct rtattr *info = nest_start(&m, IFLA_LINKINFO);
    attr_str(&m, IFLA_INFO_KIND, "veth");
    struct rtattr *data = nest_start(&m, IFLA_INFO_DATA);
    struct rtattr *p = nest_start(&m, VETH_INFO_PEER);
    /* The peer's attributes follow its own ifinfomsg inside VETH_INFO_PEER. */
    m.h.nlmsg_len += NLMSG_ALIGN(sizeof(struct ifinfomsg));
    attr_str(&m, IFLA_IFNAME, peer);
    attr_u32(&m, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
    nest_end(&m, p);
    nest_end(&m, data);
    nest_end(&m, info);
    int k = talk(fd, &m, NULL);
    if (k < 0)
        return cerr_sys(e, -k, "create veth pair %s/%s", host, peer);
    return 0;
}

int nl_bridge_add(int fd, const char *name, const char *alias, capsa_err *e)
{
    nl_msg m;
    msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
    attr_str(&m, IFLA_IFNAME, name);
    struct rtattr *info = nest_start(&m, IFLA_LINKINFO);
    attr_str(&m, IFLA_INFO_KIND, "bridge");
    nest_end(&m, info);
    int k = talk(fd, &m, NULL);
    if (k < 0)
        return cerr_sys(e, -k, "create bridge %s", name);
    /* The alias cannot be given at creation time (rtnl_newlink ignores it). */
    msg_init(&m, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
    attr_str(&m, IFLA_IFNAME, name);
    attr_str(&m, IFLA_IFALIAS, alias);
    k = talk(fd, &m, NULL);
    if (k < 0)
        return cerr_sys(e, -k, "set alias of bridge %s", name);
    return 0;
}

static int link_set(int fd, int index, unsigned flags, unsigned change, int master,
                    capsa_err *e, const char *what)
{
    nl_msg m;
    struct ifinfomsg *ifi = msg_init(&m, RTM_NEWLINK, 0, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    ifi->ifi_flags = flags;
    ifi->ifi_change = change;
    if (master >= 0)
        attr_u32(&m, IFLA_MASTER, (uint32_t)master);
    int k = talk(fd, &m, NULL);
    if (k < 0)
        return cerr_sys(e, -k, "%s link %d", what, index);
    return 0;
}

int nl_link_up(int fd, int index, capsa_err *e)
{
    return link_set(fd, index, IFF_UP, IFF_UP, -1, e, "bring up");
}

int nl_link_set_master(int fd, int index, int master, capsa_err *e)
{
    return link_set(fd, index, 0, 0, master, e, "attach to bridge");
}

int nl_link_del(int fd, const char *name, capsa_err *e)
{
    nl_msg m;
    msg_init(&m, RTM_DELLINK, 0, sizeof(struct ifinfomsg));
    attr_str(&m, IFLA_IFNAME, name);
    int k = talk(fd, &m, NULL);
    if (k < 0 && k != -ENODEV)
        return cerr_sys(e, -k, "delete link %s", name);
    return 0;
}

int nl_addr4_add(int fd, int index, struct in_addr a, int prefix, capsa_err *e)
{
    nl_msg m;
    struct ifaddrmsg *ifa = msg_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof *ifa);
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (unsigned char)prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned)index;
    attr_put(&m, IFA_LOCAL, &a, sizeof a);
    attr_put(&m, IFA_ADDRESS, &a, sizeof a);
    if (prefix < 31) {
        struct in_addr b = {htonl(ntohl(a.s_addr) | (0xffffffffu >> prefix))};
        attr_put(&m, IFA_BROADCAST, &b, sizeof b);
    }
    int k = talk(fd, &m, NULL);
    if (k < 0) {
        char s[INET_ADDRSTRLEN];
        return cerr_sys(e, -k, "add address %s/%d to link %d",
                        inet_ntop(AF_INET, &a, s, sizeof s), prefix, index);
    }
    return 0;
}

int nl_route4_default(int fd, int index, struct in_addr gw, capsa_err *e)
{
    nl_msg m;
    struct rtmsg *rt = msg_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof *rt);
    rt->rtm_family = AF_INET;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_scope = RT_SCOPE_UNIVERSE;
    rt->rtm_type = RTN_UNICAST;
    attr_put(&m, RTA_GATEWAY, &gw, sizeof gw);
    attr_u32(&m, RTA_OIF, (uint32_t)index);
    int k = talk(fd, &m, NULL);
    if (k < 0)
        return cerr_sys(e, -k, "add default route via link %d", index);
    return 0;
}

int nl_addr4_in_use(int fd, struct in_addr net, int prefix, capsa_err *e)
{
    nl_msg m;
    struct ifaddrmsg *ifa = msg_init(&m, RTM_GETADDR, NLM_F_DUMP, sizeof *ifa);
    ifa->ifa_family = AF_INET;
    struct sockaddr_nl to = {.nl_family = AF_NETLINK};
    static uint32_t dump_seq = 1u << 30;
    m.h.nlmsg_seq = ++dump_seq;
    if (sendto(fd, m.buf, m.h.nlmsg_len, 0, (struct sockaddr *)&to, sizeof to) < 0)
        return cerr_sys(e, errno, "list addresses");
    int found = 0;
    for (;;) {
        char buf[32768];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return cerr_sys(e, errno, "list addresses");
        }
        size_t left = (size_t)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != m.h.nlmsg_seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE)
                return found;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *err = NLMSG_DATA(h);
                if (err->error == 0)
                    return found;
                return cerr_sys(e, -err->error, "list addresses");
            }
            if (h->nlmsg_type != RTM_NEWADDR)
                continue;
            struct ifaddrmsg *a = NLMSG_DATA(h);
            int alen = (int)IFA_PAYLOAD(h);
            for (struct rtattr *ra = IFA_RTA(a); RTA_OK(ra, alen); ra = RTA_NEXT(ra, alen)) {
                if (ra->rta_type != IFA_LOCAL && ra->rta_type != IFA_ADDRESS)
                    continue;
                uint32_t v;
                memcpy(&v, RTA_DATA(ra), sizeof v);
                /* Either range contains the other: they overlap. */
                int p = a->ifa_prefixlen < prefix ? a->ifa_prefixlen : prefix;
                uint32_t mk = p ? htonl(0xffffffffu << (32 - p)) : 0;
                if ((v & mk) == (net.s_addr & mk))
                    found = 1;
            }
        }
    }
}
