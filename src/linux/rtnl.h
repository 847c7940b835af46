/* rtnetlink helpers (AF_NETLINK/NETLINK_ROUTE, no libmnl, no `ip`): just what
 * `capsa net-hook` needs to wire a container to the host with a veth pair. */
#ifndef CAPSA_RTNL_H
#define CAPSA_RTNL_H

#include <netinet/in.h>
#include <stdint.h>

#include "util/err.h"

/* A route socket in this process's network namespace. */
int nl_open(capsa_err *e);
/* A route socket in the network namespace `nsfd`: created after setns into it,
 * then this (single-threaded) process returns to its own namespace. The socket
 * stays bound to the namespace it was created in. */
int nl_open_in_netns(int nsfd, capsa_err *e);

/* Ifindex of `name` (-ENODEV when missing). */
int nl_link_index(int fd, const char *name, int *index, capsa_err *e);
/* A veth pair: `host` here, `peer` created directly in the namespace `peer_nsfd`. */
int nl_veth_add(int fd, const char *host, const char *peer, int peer_nsfd, capsa_err *e);
/* A bridge; `alias` (IFLA_IFALIAS) marks who created it. */
int nl_bridge_add(int fd, const char *name, const char *alias, capsa_err *e);
int nl_link_up(int fd, int index, capsa_err *e);
int nl_link_set_master(int fd, int index, int master, capsa_err *e);
/* Delete a link by name; a missing link is success. */
int nl_link_del(int fd, const char *name, capsa_err *e);
int nl_addr4_add(int fd, int index, struct in_addr a, int prefix, capsa_err *e);
int nl_route4_default(int fd, int index, struct in_addr gw, capsa_err *e);
/* Whether any IPv4 address in the namespace of `fd` lies in net/prefix (1 yes, 0 no). */
int nl_addr4_in_use(int fd, struct in_addr net, int prefix, capsa_err *e);

#endif
