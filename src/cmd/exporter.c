/* capsa exporter --listen HOST:PORT: the stats and audit findings of every
 * container on the host as a Prometheus / OpenMetrics endpoint (/metrics),
 * served by libmicrohttpd. Runs until SIGTERM or SIGINT. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "observe/metrics.h"
#include "util/dl.h"
#include "util/log.h"

/* libmicrohttpd is loaded when the exporter starts, not linked: linked, it
 * and GnuTLS under it (ten libraries) were mapped by every `capsa create` and
 * `run`, doubling the runtime's peak RSS (make bench: 2.4 MiB -> 5.2 MiB). */
static struct {
    __typeof__(MHD_start_daemon) *start_daemon;
    __typeof__(MHD_stop_daemon) *stop_daemon;
    __typeof__(MHD_get_daemon_info) *get_daemon_info;
    __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
    __typeof__(MHD_add_response_header) *add_response_header;
    __typeof__(MHD_queue_response) *queue_response;
    __typeof__(MHD_destroy_response) *destroy_response;
    __typeof__(MHD_lookup_connection_value) *lookup_connection_value;
} M;

static int mhd_load(capsa_err *e)
{
    const char *why = NULL;
    void *h = dl_open("libmicrohttpd.so.12", &why);
    if (!h)
        return cerr_set(e, ENOSYS, "exporter needs libmicrohttpd (Debian: libmicrohttpd12): %s",
                        why);
    struct {
        void **slot;
        const char *name;
    } syms[] = {
        {(void **)&M.start_daemon, "MHD_start_daemon"},
        {(void **)&M.stop_daemon, "MHD_stop_daemon"},
        {(void **)&M.get_daemon_info, "MHD_get_daemon_info"},
        {(void **)&M.create_response_from_buffer, "MHD_create_response_from_buffer"},
        {(void **)&M.add_response_header, "MHD_add_response_header"},
        {(void **)&M.queue_response, "MHD_queue_response"},
        {(void **)&M.destroy_response, "MHD_destroy_response"},
        {(void **)&M.lookup_connection_value, "MHD_lookup_connection_value"},
    };
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++)
        if (!(*syms[i].slot = dlsym(h, syms[i].name)))
            return cerr_set(e, ENOSYS, "exporter: libmicrohttpd has no %s", syms[i].name);
    return 0;
}

int cmd_exporter(cmd_ctx *c, int argc, char **argv, capsa_err *e);

/* Registered by main.c (next to cmd_table). */
extern const cmd_def cmd_exporter_def;
const cmd_def cmd_exporter_def = {
    "exporter", cmd_exporter, "serve every container's stats as Prometheus metrics",
    "Usage: capsa exporter [--listen HOST:PORT] [--no-audit] [--audit-interval SECONDS]\n"
    "  -l, --listen HOST:PORT     address to serve /metrics on (default 127.0.0.1:9338;\n"
    "                             [::1]:PORT for IPv6; port 0: any free port)\n"
    "      --no-audit             leave out capsa_audit_findings\n"
    "      --audit-interval SECONDS  audit each container again after SECONDS (default 300)\n"
    "Every container on the host, whatever started it (docker, containerd, Kubernetes,\n"
    "podman, runc, crun, capsa), found from /proc and cgroups: cpu and throttling, memory\n"
    "and OOM kills, pids and refused forks, io, PSI, audit findings. Prometheus text or\n"
    "OpenMetrics (by the Accept header). Names and labels: docs/observe.md.\n"
    "Prints \"capsa exporter: listening on http://HOST:PORT/metrics\" on stderr when ready;\n"
    "stops on SIGTERM or SIGINT.\n",
    false};

typedef struct {
    obs_scraper *sc;
    unsigned long scrapes;
} exporter;

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type,
                             char *body, size_t len, bool owned)
{
    struct MHD_Response *resp = M.create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    M.add_response_header(resp, "Content-Type", type);
    enum MHD_Result r = M.queue_response(conn, code, resp);
    M.destroy_response(resp);
    return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version, (void)upload, (void)upload_size, (void)con_cls;
    exporter *x = cls;
    static char not_found[] = "not found: the metrics are at /metrics\n";
    static char bad_method[] = "only GET and HEAD\n";
    static char index_page[] = "capsa exporter: the metrics are at /metrics\n";
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method,
                     strlen(bad_method), false);
    if (!strcmp(url, "/"))
        return reply(conn, MHD_HTTP_OK, "text/plain", index_page, strlen(index_page), false);
    if (strcmp(url, "/metrics"))
        return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found, strlen(not_found),
                     false);
    const char *accept = M.lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
    bool om = accept && strstr(accept, "application/openmetrics-text");
    char *text;
    size_t len;
    capsa_err e = {0};
    if (obs_scrape(x->sc, om, &text, &len, &e) < 0) {
        log_error("exporter: scrape: %s", e.msg);
        char *msg = xasprintf("scrape failed: %s\n", e.msg);
        return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", msg, strlen(msg), true);
    }
    x->scrapes++;
    return reply(conn, MHD_HTTP_OK,
                 om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                    : "text/plain; version=0.0.4; charset=utf-8",
                 text, len, true);
}

/* "127.0.0.1:9338", "[::1]:9338", "localhost:9338" (IPv4 loopback). */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl, bool *v6,
                        capsa_err *e)
{
    memset(ss, 0, sizeof *ss);
    char host[128];
    const char *port;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host)
            return cerr_set(e, EINVAL, "--listen: not [IPV6]:PORT: \"%s\"", s);
        snprintf(host, sizeof host, "%.*s", (int)(end - s - 1), s + 1);
        port = end + 2;
    } else {
        const char *c = strrchr(s, ':');
        if (!c || (size_t)(c - s) >= sizeof host)
            return cerr_set(e, EINVAL, "--listen: not HOST:PORT: \"%s\"", s);
        snprintf(host, sizeof host, "%.*s", (int)(c - s), s);
        port = c + 1;
    }
    char *end;
    errno = 0;
    long p = strtol(port, &end, 10);
    if (!*port || *end || errno || p < 0 || p > 65535)
        return cerr_set(e, EINVAL, "--listen: not a port number: \"%s\"", port);
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof host, "127.0.0.1");
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)p);
        *sl = sizeof *a4;
        *v6 = false;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)p);
        *sl = sizeof *a6;
        *v6 = true;
    } else {
        return cerr_set(e, EINVAL, "--listen: not an IP address: \"%s\" (give 127.0.0.1:PORT "
                        "or [::1]:PORT)", host);
    }
    return 0;
}

int cmd_exporter(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                         {"no-audit", no_argument, NULL, 'A'},
                                         {"audit-interval", required_argument, NULL, 'I'},
                                         {NULL, 0, NULL, 0}};
    const char *listen = "127.0.0.1:9338";
    bool audit = true;
    double ttl = 300;
    int opt, r;
    optind = 0;
    while ((r = cmd_getopt(&cmd_exporter_def, argc, argv, "l:", opts, &opt, e)) == 0 &&
           opt != -1) {
        char *end;
        switch (opt) {
        case 'l': listen = optarg; break;
        case 'A': audit = false; break;
        case 'I':
            errno = 0;
            ttl = strtod(optarg, &end);
            if (errno || *end || !(ttl >= 0) || ttl > 86400 * 365)
                return cerr_set(e, EINVAL, "--audit-interval: not a number of seconds: \"%s\"",
                                optarg);
            break;
        }
    }
    if (r)
        return r < 0 ? r : 0;
    if ((r = cmd_need_args("exporter", argc, 0, 0, e)) < 0)
        return r;
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    bool v6 = false;
    if ((r = parse_listen(listen, &ss, &sl, &v6, e)) < 0)
        return r;
    (void)sl;
    if ((r = mhd_load(e)) < 0)
        return r;
    /* The daemon's thread inherits this mask: only sigwait below sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    exporter x = {.sc = obs_scraper_new(c->rt.root, audit, ttl)};
    struct MHD_Daemon *d = M.start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0), 0, NULL,
        NULL, handle, &x, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
        MHD_OPTION_END);
    if (!d) {
        int err = errno ? errno : EADDRINUSE;
        obs_scraper_free(x.sc);
        return cerr_set(e, err, "--listen %s: cannot serve there: %s", listen, strerror(err));
    }
    const union MHD_DaemonInfo *info = M.get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : 0;
    char shown[128];
    char host[INET6_ADDRSTRLEN] = "";
    if (v6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
    snprintf(shown, sizeof shown, v6 ? "[%s]:%u" : "%s:%u", host, port);
    fprintf(stderr, "capsa exporter: listening on http://%s/metrics\n", shown);
    log_msg("info", "exporter: listening on %s", shown);
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    M.stop_daemon(d);
    log_msg("info", "exporter: stopped by signal %d after %lu scrapes", sig, x.scrapes);
    obs_scraper_free(x.sc);
    return 0;
}
