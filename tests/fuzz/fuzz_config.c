/* config.json: the parser, the checks `capsa create` makes before it creates
 * anything (spec_validate, seccomp_check), then what the setup derives from the
 * accepted spec without touching the system: mount options, cgroup values. */
#include <stdint.h>

#include "fuzz.h"
#include "linux/mounts.h"
#include "linux/seccomp_filter.h"
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
        r = spec_validate(s, &e);
        fuzz_check_error(r, &e);
        if (r == 0) {
            r = seccomp_check(&s->linux.seccomp, &e);
            fuzz_check_error(r, &e);
        }
        if (r == 0) {
            for (size_t i = 0; i < s->n_mounts; i++) {
                mount_opts o;
                cerr_clear(&e);
                fuzz_check_error(mount_parse_options(s->mounts[i].options.v, &o, &e), &e);
            }
            fuzz_convert_resources(&s->linux.resources);
        }
        spec_free(s);
    }
    return 0;
}
