/* capsa error type: every fallible function returns 0 or a negative errno and
 * fills a capsa_err with a message; callers add context with cerr_wrap() and
 * the top level prints one line ("capsa: create demo: mount proc: EPERM"). */
#ifndef CAPSA_ERR_H
#define CAPSA_ERR_H

#include <stddef.h>

#define CERR_MSG_MAX 2048

typedef struct capsa_err {
    int code;                 /* positive errno, 0 when no error */
    char msg[CERR_MSG_MAX];
} capsa_err;

/* Set a fresh error; returns -code (code 0 becomes EIO). */
int cerr_set(capsa_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Set an error from errno-style code and append ": strerror(code)". */
int cerr_sys(capsa_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepend "context: " to an existing error; returns -e->code. */
int cerr_wrap(capsa_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cerr_clear(capsa_err *e);

#define CLEANUP(f) __attribute__((cleanup(f)))
void cleanup_freep(void *p);
void cleanup_closep(int *fd);
#define autofree CLEANUP(cleanup_freep)
#define autoclose CLEANUP(cleanup_closep)

/* Hand ownership out of a cleanup-managed variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
