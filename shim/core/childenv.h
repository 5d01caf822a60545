/* childenv: what a child process's environment must hold so it stays under
 * the shim (LD_PRELOAD with our library, the HFSHIM_* settings), or, when
 * the rules say children are not to be shimmed, what must go. Used by the
 * launcher and by the exec/posix_spawn hooks. Async-signal-safe: no
 * allocation, no locks (exec hooks can run in a vfork child). */
#ifndef HFS_CHILDENV_H
#define HFS_CHILDENV_H
#include <stddef.h>

/* Writes the new LD_PRELOAD value (without "LD_PRELOAD=") into out:
 * sanitizer runtimes first (libasan, libtsan, …: they must stay first),
 * then ourlib, then the other entries in order, any earlier copy of
 * libhfshim dropped and no entry repeated. ourlib may itself be a
 * ':'-list (the sanitizer runtimes the parent ran with, then the library:
 * a sanitized child cannot start without them). With add == 0 our library
 * is only removed. Returns the length, or -1 if out is too small. */
long hfs_preload_compose(const char *existing, const char *ourlib, int add, char *out, size_t outlen);

/* Writes only the sanitizer runtime entries of an LD_PRELOAD value into
 * out, ':'-separated. Returns the length, or -1 if out is too small. */
long hfs_preload_sanitizers(const char *existing, char *out, size_t outlen);

/* 1 when the LD_PRELOAD value holds a libhfshim library. */
int hfs_preload_has_shim(const char *value);

/* Builds the child's environment into out[0..outcap) (NULL-terminated),
 * using buf for the one string it may need to write (LD_PRELOAD=…).
 * carry: NULL-terminated "NAME=value" strings to add when NAME is absent.
 * children == 0: our library leaves LD_PRELOAD and HFSHIM_* are dropped.
 * Returns 0, or -1 when out or buf is too small. */
int hfs_childenv_build(char *const *envp, const char *ourlib, const char *const *carry, int children, char **out,
                       size_t outcap, char *buf, size_t buflen);

/* Number of entries in a NULL-terminated environment. */
size_t hfs_env_count(char *const *envp);

#endif
