#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/fs.h"

static int log_fd = -1;
static bool log_json, log_dbg;

int log_init(const char *file, const char *format, bool debug)
{
    log_dbg = debug;
    if (format) {
        if (!strcmp(format, "json"))
            log_json = true;
        else if (strcmp(format, "text"))
            return -EINVAL;
    }
    if (file && *file) {
        log_fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (log_fd < 0)
            return -errno;
    }
    return 0;
}

bool log_debug_enabled(void)
{
    return log_dbg;
}

static void json_escape(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            dst[n++] = '\\';
            dst[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", c);
        } else {
            dst[n++] = (char)c;
        }
    }
    dst[n] = 0;
}

void log_msg(const char *level, const char *fmt, ...)
{
    bool is_debug = !strcmp(level, "debug");
    if (is_debug && !log_dbg)
        return;
    char msg[4096], esc[8192], ts[64], line[8400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t k = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + k, sizeof ts - k, ".%09ldZ", now.tv_nsec);

    if (log_fd < 0) {
        /* No log file: errors go to stderr (printed by main), debug too. */
        if (is_debug)
            dprintf(2, "capsa: debug: %s\n", msg);
        return;
    }
    json_escape(esc, sizeof esc, msg);
    int n;
    if (log_json)
        n = snprintf(line, sizeof line, "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
                     level, esc, ts);
    else
        n = snprintf(line, sizeof line, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level, esc);
    if (n > 0)
        (void)write_all(log_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}
