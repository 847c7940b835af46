/* Human units on the command line: sizes ("64m", "1g"), counts, Go-style
 * durations ("5s", "1m30s") and CPU lists ("0-3,6"), parsed strictly so that
 * a typo is an error naming the flag, never a silent 0. */
#ifndef CAPSA_UNITS_H
#define CAPSA_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes from "1024", "512k", "64m", "1.5g", "2GiB", "1t" (binary units, any
 * case, optional "i" and "b"), like docker/runc's RAMInBytes. "-1" is -1
 * (unlimited). 0 or -EINVAL / -ERANGE. */
int units_parse_size(const char *s, int64_t *out);
/* A whole decimal number in [min, max]. 0 or -EINVAL / -ERANGE. */
int units_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* "UID" or "UID:GID", decimal ids up to 2^32-1 (--user of spec and exec);
 * *has_gid says whether GID was given. 0 or -EINVAL. */
int units_parse_user(const char *s, uint32_t *uid, uint32_t *gid, bool *has_gid);
/* One such id, the whole string. 0 or -EINVAL. */
int units_parse_id(const char *s, uint32_t *id);
/* Go time.ParseDuration subset: sequence of NUMBER UNIT with units ns, us,
 * ms, s, m, h (fractions allowed); result in nanoseconds. */
int units_parse_duration(const char *s, uint64_t *ns);
/* "0", "0-3", "0,2,4-7", "0-15:2/4": the kernel's cpuset list syntax. */
bool units_cpu_list_valid(const char *s);
/* 67108864 -> "64 MiB", 1536 -> "1.5 KiB", 100 -> "100 B". */
void units_format_size(uint64_t bytes, char *buf, size_t n);

#endif
