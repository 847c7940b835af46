/* runc-compatible logging: --log FILE --log-format text|json. Engines (containerd's
 * shim, conmon) read the last "error" line of the log file as the failure reason. */
#ifndef CAPSA_LOG_H
#define CAPSA_LOG_H

#include <stdbool.h>

int log_init(const char *file, const char *format, bool debug);
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg("debug", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)
bool log_debug_enabled(void);

#endif
