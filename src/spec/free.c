/* Freeing a spec, also a partly parsed one: every array is zeroed when it is
 * allocated, so the walk below is safe at any point of a failed parse. */
#include "spec/spec_int.h"

#include <stdlib.h>

void free_strv(spec_strv *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->v[i]);
    free(v->v);
    v->v = NULL;
    v->n = 0;
}

void free_map(spec_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].value);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

static void free_process(spec_process *p)
{
    free(p->user.additional_gids);
    free(p->user.username);
    free_strv(&p->args);
    free(p->command_line);
    free_strv(&p->env);
    free(p->cwd);
    for (size_t i = 0; i < p->n_rlimits; i++)
        free(p->rlimits[i].type);
    free(p->rlimits);
    free(p->apparmor_profile);
    free(p->selinux_label);
    free(p->scheduler.class_name);
    free(p->io_priority.class_name);
    free_strv(&p->exec_cpu_affinity_initial);
    free(p->exec_cpu_affinity_initial_s);
    free(p->exec_cpu_affinity_final_s);
}

static void free_hooks(spec_hooks_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free_strv(&l->v[i].args);
        free_strv(&l->v[i].env);
    }
    free(l->v);
}

static void free_seccomp(spec_seccomp *sc)
{
    free(sc->default_action);
    free_strv(&sc->architectures);
    free_strv(&sc->flags);
    free(sc->listener_path);
    free(sc->listener_metadata);
    for (size_t i = 0; i < sc->n_syscalls; i++) {
        spec_seccomp_syscall *s = &sc->syscalls[i];
        free_strv(&s->names);
        free(s->action);
        for (size_t j = 0; j < s->n_args; j++)
            free(s->args[j].op);
        free(s->args);
    }
    free(sc->syscalls);
}

void free_linux(spec_linux *l)
{
    for (int i = 0; i < NS__COUNT; i++)
        free(l->ns[i].path);
    free(l->uid_mappings.v);
    free(l->gid_mappings.v);
    for (size_t i = 0; i < l->n_time_offsets; i++)
        free(l->time_offsets[i].clock);
    free(l->time_offsets);
    for (size_t i = 0; i < l->n_devices; i++)
        free(l->devices[i].path);
    free(l->devices);
    free(l->cgroups_path);
    free_resources(&l->resources);
    free_map(&l->sysctl);
    free_seccomp(&l->seccomp);
    free(l->rootfs_propagation);
    free_strv(&l->masked_paths);
    free_strv(&l->readonly_paths);
    free(l->mount_label);
    free(l->memory_policy_mode);
    free(l->personality_domain);
    free_strv(&l->personality_flags);
}

void spec_free(spec *s)
{
    if (!s)
        return;
    free(s->oci_version);
    free(s->root_path);
    free_process(&s->process);
    free(s->hostname);
    free(s->domainname);
    for (size_t i = 0; i < s->n_mounts; i++) {
        spec_mount *m = &s->mounts[i];
        free(m->type);
        free(m->source);
        free(m->destination);
        free_strv(&m->options);
        free(m->uid_mappings.v);
        free(m->gid_mappings.v);
    }
    free(s->mounts);
    free_hooks(&s->hooks.prestart);
    free_hooks(&s->hooks.create_runtime);
    free_hooks(&s->hooks.create_container);
    free_hooks(&s->hooks.start_container);
    free_hooks(&s->hooks.poststart);
    free_hooks(&s->hooks.poststop);
    free_map(&s->annotations);
    free_linux(&s->linux);
    free(s->fname);
    jsonpos_free(s->pos);
    free(s);
}
