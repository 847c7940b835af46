/* Compiled seccomp filters cached per profile, so a container start does not
 * rebuild the same BPF with libseccomp every time (docs/performance.md).
 *
 * The cache lives in /run/capsa-cache (root) or $XDG_RUNTIME_DIR/capsa-cache
 * (rootless), or in $CAPSA_CACHE; CAPSA_CACHE=off turns it off. A file is used
 * only if its directory and itself belong to the caller and are writable by no
 * one else, and if the whole key stored in it (capsa and libseccomp versions,
 * the profile serialized field by field) equals the wanted one byte for byte:
 * the hash only names the file, it never decides. */
#ifndef CAPSA_SECCOMP_CACHE_H
#define CAPSA_SECCOMP_CACHE_H

#include <linux/filter.h>
#include <stddef.h>

#include "spec/spec.h"
#include "util/bytes.h"

typedef bytes seccomp_key;

/* The canonical serialization of everything that shapes the BPF. */
void seccomp_cache_key(const spec_seccomp *s, seccomp_key *k);

/* A copy of the cached program (caller frees *insns), or -1 when there is none
 * usable. */
int seccomp_cache_get(const seccomp_key *k, struct sock_filter **insns, size_t *n);

/* Best effort: an unwritable cache only costs time. */
void seccomp_cache_put(const seccomp_key *k, const struct sock_filter *insns, size_t n);

#endif
