/* config.json: the parser, then the validation `capsa create` runs. */
#include <stdint.h>

#include "fuzz.h"
#include "spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    capsa_err e = {0};
    spec *s = NULL;
    int r = spec_parse((const char *)data, size, "config.json", &s, &e);
    fuzz_check_error(r, &e);
    if (r == 0) {
        cerr_clear(&e);
        fuzz_check_error(spec_validate(s, &e), &e);
        spec_free(s);
    }
    return 0;
}
