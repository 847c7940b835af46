#include "common.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
} table[] = {
#define ENTRY(n) {#n, attack_##n},
    ATTACKS(ENTRY)
#undef ENTRY
};

int attack_linger;

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && !strcmp(argv[1], "--linger")) {
        attack_linger = 1;
        argv++;
        argc--;
    }
    if (argc < 2)
        usage_error("usage: attack NAME [ARGS...]");
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (!strcmp(argv[1], table[i].name))
            return table[i].fn(argc - 1, argv + 1);
    usage_error("unknown attack %s", argv[1]);
}
