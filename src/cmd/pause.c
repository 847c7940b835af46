/* pause and resume: freeze and thaw every process of a container. */
#include "cmd/cmd.h"

static int one_id(const char *verb, int argc, char **argv, const char **id, capsa_err *e)
{
    int opt, r;
    optind = 0;
    while ((r = cmd_getopt(cmd_find(verb), argc, argv, "", NULL, &opt, e)) == 0 && opt != -1)
        ;
    if (r)
        return r;
    if ((r = cmd_need_args(verb, argc, 1, 1, e)) < 0)
        return r;
    *id = argv[optind];
    return 0;
}

int cmd_pause(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    const char *id;
    int r = one_id("pause", argc, argv, &id, e);
    if (r)
        return r < 0 ? r : 0;
    return rt_pause(&c->rt, id, e);
}

int cmd_resume(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    const char *id;
    int r = one_id("resume", argc, argv, &id, e);
    if (r)
        return r < 0 ? r : 0;
    return rt_resume(&c->rt, id, e);
}
