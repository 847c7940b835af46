#ifndef CAPSA_NAMES_H
#define CAPSA_NAMES_H

#include "util/err.h"

/* Container ids: [A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}. */
int id_validate(const char *id, capsa_err *e);
/* "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3" -> signal number. */
int signal_parse(const char *s, capsa_err *e);
const char *signal_name(int sig);  /* "SIGTERM" or NULL */

#endif
