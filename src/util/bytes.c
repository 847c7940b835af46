/* Growing byte buffers (bytes.h). */
#include "util/bytes.h"

#include <string.h>

#include "util/err.h"

void bytes_put(bytes *b, const void *p, size_t n)
{
    if (!n)
        return;
    b->v = xrealloc(b->v, b->n + n);
    memcpy(b->v + b->n, p, n);
    b->n += n;
}

void bytes_put_u64(bytes *b, uint64_t v)
{
    bytes_put(b, &v, sizeof v);
}

void bytes_put_sized(bytes *b, const void *p, size_t n)
{
    bytes_put_u64(b, n);
    bytes_put(b, p, n);
}
