/* <root>/<id>/state.json as every verb reads it, and the OCI state
 * document `capsa state` prints from it. */
#include <stdint.h>

#include "fuzz.h"
#include "runtime/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    capsa_err e = {0};
    cstate st;
    int r = state_parse((const char *)data, size, &st, &e);
    fuzz_check_error(r, &e);
    if (r == 0) {
        char *doc = state_oci_json(&st, "running", true);
        if (!doc)
            abort();
        free(doc);
        state_free(&st);
    }
    return 0;
}
