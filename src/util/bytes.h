/* A growing byte buffer for binary records: the seccomp cache's keys and the
 * blob the runtime hands the re-executed init (native endianness: both are
 * read back by the same binary on the same machine). */
#ifndef CAPSA_BYTES_H
#define CAPSA_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *v;
    size_t n;
} bytes;

void bytes_put(bytes *b, const void *p, size_t n);   /* p may be NULL when n is 0 */
void bytes_put_u64(bytes *b, uint64_t v);
/* A u64 length, then the n bytes. */
void bytes_put_sized(bytes *b, const void *p, size_t n);

#endif
