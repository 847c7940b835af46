#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "spec/spec.h"
#include "util/fs.h"

int cmd_spec(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    (void)c;
    enum { OPT_ROOTLESS = 256 };
    static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
                                         {"rootless", no_argument, NULL, OPT_ROOTLESS},
                                         {NULL, 0, NULL, 0}};
    spec_default_opts so = {0};
    const char *bundle = ".";
    int opt, r;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("spec"), argc, argv, "b:", opts, &opt, e)) == 0 && opt != -1) {
        if (opt == 'b')
            bundle = optarg;
        else if (opt == OPT_ROOTLESS)
            so.rootless = true;
    }
    if (r)
        return r < 0 ? r : 0;
    if ((r = cmd_need_args("spec", argc, 0, 0, e)) < 0)
        return r;
    autofree char *path = xasprintf("%s/config.json", bundle);
    if (access(path, F_OK) == 0)
        return cerr_set(e, EEXIST, "spec: %s already exists (remove it first)", path);
    autofree char *text = spec_default_json(&so);
    autoclose int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return cerr_sys(e, errno, "spec: create %s", path);
    if (write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0)
        return cerr_sys(e, errno, "spec: write %s", path);
    return 0;
}
