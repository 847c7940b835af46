#include "util/names.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int id_validate(const char *id, capsa_err *e)
{
    if (!id || !*id)
        return cerr_set(e, EINVAL, "invalid container id \"\": must not be empty");
    size_t n = strlen(id);
    if (n > 1024)
        return cerr_set(e, EINVAL, "invalid container id: longer than 1024 characters");
    if (!isalnum((unsigned char)id[0]))
        return cerr_set(e, EINVAL, "invalid container id \"%s\": must start with a letter or digit", id);
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (!isalnum(c) && !strchr("_.+-", c))
            return cerr_set(e, EINVAL,
                            "invalid container id \"%s\": character '%c' not allowed (use [A-Za-z0-9_.+-])",
                            id, c);
    }
    return 0;
}

static const struct { const char *name; int sig; } sigs[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"IOT", SIGIOT},   {"BUS", SIGBUS},
    {"FPE", SIGFPE},   {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO},       {"POLL", SIGPOLL}, {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

static int parse_num(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

int signal_parse(const char *s, capsa_err *e)
{
    long v;
    if (!s || !*s)
        return cerr_set(e, EINVAL, "invalid signal \"\"");
    if (isdigit((unsigned char)s[0])) {
        if (parse_num(s, &v) < 0 || v <= 0 || v > SIGRTMAX)
            return cerr_set(e, EINVAL, "invalid signal \"%s\"", s);
        return (int)v;
    }
    const char *n = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        if (!strcasecmp(n, sigs[i].name))
            return sigs[i].sig;
    if (!strncasecmp(n, "RTMIN", 5)) {
        if (!n[5])
            return SIGRTMIN;
        if (n[5] == '+' && parse_num(n + 6, &v) == 0 && v >= 0 && SIGRTMIN + v <= SIGRTMAX)
            return SIGRTMIN + (int)v;
    }
    if (!strncasecmp(n, "RTMAX", 5)) {
        if (!n[5])
            return SIGRTMAX;
        if (n[5] == '-' && parse_num(n + 6, &v) == 0 && v >= 0 && SIGRTMAX - v >= SIGRTMIN)
            return SIGRTMAX - (int)v;
    }
    return cerr_set(e, EINVAL, "invalid signal \"%s\"", s);
}

const char *signal_name(int sig)
{
    static char buf[16];
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        if (sigs[i].sig == sig) {
            strcpy(buf, "SIG");
            strcat(buf, sigs[i].name);
            return buf;
        }
    return NULL;
}
