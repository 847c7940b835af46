/* `capsa exec --process FILE`: a file holding only a process object, and the
 * check that refuses the fields capsa does not implement. */
#include <stdint.h>

#include "fuzz.h"
#include "spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    capsa_err e = {0};
    spec *s = NULL;
    int r = spec_parse_process((const char *)data, size, "process.json", &s, &e);
    fuzz_check_error(r, &e);
    if (r == 0) {
        /* What exec hands on to execve: a NULL-terminated, non-empty argv. */
        if (!s->process.args.v || !s->process.args.n ||
            s->process.args.v[s->process.args.n] || !s->process.env.v)
            abort();
        cerr_clear(&e);
        fuzz_check_error(spec_validate_process(s, &e), &e);
        spec_free(s);
    }
    return 0;
}
