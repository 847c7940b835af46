/* `capsa update -r FILE`: a linux.resources object, the checks rt_update
 * makes before it touches a cgroup, and the values the drivers would write. */
#include <stdint.h>

#include "fuzz.h"
#include "spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    capsa_err e = {0};
    spec_resources res;
    int r = spec_parse_resources((const char *)data, size, "resources.json", &res, &e);
    fuzz_check_error(r, &e);
    if (r == 0) {
        cerr_clear(&e);
        r = spec_validate_resources(&res, true, &e);
        fuzz_check_error(r, &e);
        if (r == 0)
            fuzz_convert_resources(&res);
        spec_resources_free(&res);
    }
    return 0;
}
