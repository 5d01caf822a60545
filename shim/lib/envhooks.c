/* envhooks: getenv/secure_getenv hooks and the constructor's environ
 * edits. getenv runs before anything is initialised (allocators call it
 * while dlsym is still resolving), so it never calls dlsym or malloc: it
 * checks the published enforced table, then scans environ itself. */
#include "envhooks.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "real.h"
#include "state.h"

extern char **environ;

static atomic_size_t enforced_count; /* published after hfs_g.env is filled */
static uint64_t enforced_lengths;    /* bit (len & 63) set for each enforced name */

static const char *lookup_n(const char *name, size_t len)
{
    char **e = environ;
    if (!e || len == 0)
        return NULL;
    for (; *e; e++)
        if ((*e)[0] == name[0] && strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    return NULL;
}

const char *hfs_env_lookup(const char *name)
{
    return lookup_n(name, strlen(name));
}

void hfs_env_apply(void)
{
    uint64_t lengths = 0;
    for (size_t i = 0; i < hfs_g.nenv; i++) {
        const struct hfs_envvar *v = &hfs_g.env[i];
        if (v->value)
            setenv(v->name, v->value, 1);
        else
            unsetenv(v->name);
        lengths |= 1ull << (strlen(v->name) & 63);
    }
    enforced_lengths = lengths;
    atomic_store_explicit(&enforced_count, hfs_g.nenv, memory_order_release);
}

/* 1 when name is enforced; *value is then its value (NULL = unset). */
static int enforced(const char *name, size_t len, const char **value)
{
    size_t n = atomic_load_explicit(&enforced_count, memory_order_acquire);
    if (n == 0 || !(enforced_lengths & (1ull << (len & 63))))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(hfs_g.env[i].name, name) == 0) {
            *value = hfs_g.env[i].value;
            return 1;
        }
    return 0;
}

HFS_EXPORT char *getenv(const char *name)
{
    const char *v;
    size_t len = strlen(name);
    if (enforced(name, len, &v))
        return (char *)v;
    return (char *)lookup_n(name, len);
}

HFS_EXPORT char *secure_getenv(const char *name)
{
    if (getauxval(AT_SECURE))
        return NULL;
    return getenv(name);
}
