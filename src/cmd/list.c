#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "observe/discover.h"

int cmd_list(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"host", no_argument, NULL, 'H'},
                                         {NULL, 0, NULL, 0}};
    int opt, r;
    const char *format = "table";
    bool quiet = false, host = false;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("list"), argc, argv, "f:q", opts, &opt, e)) == 0 && opt != -1) {
        if (opt == 'f')
            format = optarg;
        else if (opt == 'q')
            quiet = true;
        else if (opt == 'H')
            host = true;
    }
    if (r)
        return r < 0 ? r : 0;
    if (strcmp(format, "table") && strcmp(format, "json"))
        return cerr_set(e, EINVAL, "list: --format must be table or json, not \"%s\"", format);
    if ((r = cmd_need_args("list", argc, 0, 0, e)) < 0)
        return r;
    if (host)  /* every container on the host, whoever started it */
        return obs_host_list(c->rt.root, !strcmp(format, "json"), quiet, e);
    rt_info *v;
    size_t n;
    if ((r = rt_list(&c->rt, &v, &n, e)) < 0)
        return r;
    if (quiet) {
        for (size_t i = 0; i < n; i++)
            puts(v[i].id);
    } else if (!strcmp(format, "json")) {
        json_t *a = json_array();
        /* runc's fields: ociVersion and rootfs too, annotations when set */
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "ociVersion",
                                  v[i].oci_version, "id", v[i].id, "pid", (int)v[i].pid,
                                  "status", v[i].status, "bundle", v[i].bundle, "rootfs",
                                  v[i].rootfs, "created", v[i].created, "owner", v[i].owner);
            if (v[i].annotations.n) {
                json_t *an = json_object();
                for (size_t k = 0; k < v[i].annotations.n; k++)
                    json_object_set_new(an, v[i].annotations.v[k].key,
                                        json_string(v[i].annotations.v[k].value));
                json_object_set_new(o, "annotations", an);
            }
            json_array_append_new(a, o);
        }
        char *s = json_dumps(a, JSON_COMPACT);
        puts(s);
        free(s);
        json_decref(a);
    } else {
        printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
        for (size_t i = 0; i < n; i++)
            printf("%-20s %-8d %-10s %-40s %-32s %s\n", v[i].id, (int)v[i].pid, v[i].status,
                   v[i].bundle, v[i].created, v[i].owner);
    }
    rt_info_free(v, n);
    return 0;
}
