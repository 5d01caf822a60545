/* cmd_install: `hfshim install --system [--rules FILE]` and `hfshim
 * uninstall --system [--keep-rules]`: every process on the machine (or in
 * the container) under the shim through /etc/ld.so.preload, with the
 * rules in /etc/hfshim/rules.json. Writes exactly those two files (each
 * through a temporary file and rename, so a reader never sees half of
 * one), is idempotent, and refuses without root. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/childenv.h"
#include "../core/preloadfile.h"
#include "../core/readfile.h"
#include "../core/syspolicy.h"
#include "launcher.h"

#define RULES_DIR "/etc/hfshim"
#define MAX_FILE (1 << 20)

/* Removes the compiled forms of the policy (policy-HASH beside it, written
 * by root processes under the shim: core/polcache.h): stale once the
 * policy changes, and not to be left behind by uninstall. */
static void remove_compiled(void)
{
    DIR *d = opendir(RULES_DIR);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        size_t hex = strspn(n + (strncmp(n, "policy-", 7) == 0 ? 7 : 0), "0123456789abcdef");
        if (strncmp(n, "policy-", 7) == 0 && hex == 16 && n[7 + 16] == 0) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", RULES_DIR, n);
            unlink(path);
        }
    }
    closedir(d);
}

static int need_root(const char *cmd)
{
    if (geteuid() == 0)
        return 0;
    fprintf(stderr,
            "hfshim %s --system: this needs root: it %s %s and %s, which every program started afterwards reads.\n"
            "Run it as root (in a Dockerfile: a RUN line before any USER), e.g.: sudo hfshim %s --system\n",
            cmd, strcmp(cmd, "install") == 0 ? "writes" : "edits", HFS_LD_SO_PRELOAD, HFS_SYSTEM_RULES, cmd);
    return 1;
}

/* Reads a whole (small) regular file; *len = 0 and 0 when it does not
 * exist; -1 with *why (a FIFO is refused, never waited on). */
static int read_all(const char *path, char **out, size_t *len, const char **why)
{
    *out = hfs_file_read(path, 0, MAX_FILE, len, why);
    if (*out)
        return 0;
    *len = 0;
    return errno == ENOENT ? 0 : -1;
}

/* Writes path as root:root 0644 through a new temporary file in the same
 * folder and rename, then syncs the folder: a reader sees the old file or
 * the new one, never half of one. */
static int write_atomic(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.hfshim-new.%ld", path, (long)getpid());
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            errno = e;
            return -1;
        }
        off += (size_t)w;
    }
    if (fchown(fd, 0, 0) != 0 || fchmod(fd, 0644) != 0 || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return 0;
}

/* /etc/hfshim: a real folder, root's, 0755 (made if missing). */
static int policy_folder(void)
{
    struct stat st;
    if (mkdir(RULES_DIR, 0755) != 0 && errno != EEXIST)
        return -1;
    if (lstat(RULES_DIR, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return chown(RULES_DIR, 0, 0) != 0 || chmod(RULES_DIR, 0755) != 0 ? -1 : 0;
}

/* An existing policy file: root's and 0644 (it may have been copied in by hand). */
static int own_policy_file(void)
{
    struct stat st;
    if (lstat(HFS_SYSTEM_RULES, &st) != 0 || !S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    return chown(HFS_SYSTEM_RULES, 0, 0) != 0 || chmod(HFS_SYSTEM_RULES, 0644) != 0 ? -1 : 0;
}

/* The library starts a program without trouble (a broken entry in
 * /etc/ld.so.preload would break every program). */
/* A musl root (Alpine, or gcompat on it): its loader is ld-musl-*.so.1,
 * which neither reads /etc/ld.so.preload nor can load a library built for
 * glibc (docs/portable-build.md). Names the loader in loader (cap bytes). */
static int musl_root(char *loader, size_t cap)
{
    DIR *d = opendir("/lib");
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)))
        if (strncmp(e->d_name, "ld-musl-", 8) == 0) {
            snprintf(loader, cap, "/lib/%s", e->d_name);
            found = 1;
        }
    closedir(d);
    return found;
}

/* the child's LD_PRELOAD, made before fork, on the heap: no launcher
 * frame above 16 KiB */
struct smoke_env {
    char pre[4 * PATH_MAX], san[2 * PATH_MAX];
};

static int smoke_test(const char *lib)
{
    const char *truebin = access("/usr/bin/true", X_OK) == 0 ? "/usr/bin/true" : "/bin/true";
    struct smoke_env *se = malloc(sizeof *se);
    if (!se)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        free(se);
        return -1;
    }
    if (pid == 0) {
        /* sanitizer runtimes this launcher runs with stay first (a
         * sanitized build of the library cannot start without them) */
        const char *mine = getenv("LD_PRELOAD");
        long n = hfs_preload_sanitizers(mine ? mine : "", se->san, sizeof se->san);
        snprintf(se->pre, sizeof se->pre, "LD_PRELOAD=%s%s%s", n > 0 ? se->san : "", n > 0 ? ":" : "", lib);
        char *envp[] = { se->pre, NULL };
        char *argv[] = { (char *)truebin, NULL };
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        execve(truebin, argv, envp);
        _exit(127);
    }
    free(se);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static __attribute__((noinline)) int install_rules(const char *src)
{
    struct hfs_diag d;
    char *text;
    size_t len;
    hfs_cli_diag(&d);
    struct hfs_rules *r = hfs_rules_load_file(src, &d);
    if (!r) {
        fprintf(stderr, "hfshim install --system: not installing %s: it has errors (see above)\n", src);
        return 2;
    }
    int locked = r->locked;
    hfs_rules_free(r);
    if (locked && d.warnings) {
        /* a mistyped key ("ofline") is only a warning, and would leave a
         * locked policy weaker than it reads */
        fprintf(stderr,
                "hfshim install --system: not installing %s: a locked policy must load without warnings "
                "(see above)\n",
                src);
        return 2;
    }
    const char *err = NULL;
    if (read_all(src, &text, &len, &err) != 0) {
        fprintf(stderr, "hfshim install --system: %s: %s\n", src, err);
        return 1;
    }
    char *old;
    size_t oldlen;
    if (policy_folder() != 0) {
        fprintf(stderr, "hfshim install --system: cannot make %s a folder of root's, 0755: %s\n", RULES_DIR,
                strerror(errno));
        free(text);
        return 1;
    }
    if (read_all(HFS_SYSTEM_RULES, &old, &oldlen, &err) == 0 && old && oldlen == len && memcmp(old, text, len) == 0) {
        free(old);
        free(text);
        if (own_policy_file() != 0) {
            fprintf(stderr, "hfshim install --system: cannot make %s root's, 0644: %s\n", HFS_SYSTEM_RULES,
                    strerror(errno));
            return 1;
        }
        printf("%s: unchanged (%s)\n", HFS_SYSTEM_RULES, locked ? "locked" : "not locked");
        return 0;
    }
    free(old);
    /* checked where it will live: an include relative to the file must
     * still be found there */
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s/.rules-check.json", RULES_DIR);
    int rc = write_atomic(probe, text, len);
    if (rc == 0) {
        hfs_cli_diag(&d);
        r = hfs_rules_load_file(probe, &d);
        if (!r) {
            fprintf(stderr,
                    "hfshim install --system: %s does not load from %s (an include relative to it?); "
                    "nothing installed\n",
                    src, RULES_DIR);
            unlink(probe);
            free(text);
            return 2;
        }
        /* a locked policy that includes a file others can change locks nothing */
        char why[PATH_MAX + 100];
        for (size_t i = 0; r->locked && i < r->nincludes; i++)
            if (hfs_file_trusted(r->includes[i], why, sizeof why)) {
                fprintf(stderr, "hfshim install --system: not installing %s: it is locked and includes %s, but %s\n",
                        src, r->includes[i], why);
                hfs_rules_free(r);
                unlink(probe);
                free(text);
                return 2;
            }
        hfs_rules_free(r);
        rc = rename(probe, HFS_SYSTEM_RULES);
        if (rc == 0)
            remove_compiled();
    }
    free(text);
    if (rc != 0) {
        fprintf(stderr, "hfshim install --system: cannot write %s: %s\n", HFS_SYSTEM_RULES, strerror(errno));
        unlink(probe);
        return 1;
    }
    printf("%s: installed from %s (%s)\n", HFS_SYSTEM_RULES, src,
           locked ? "locked: the environment may only add restrictions" : "not locked: HFSHIM_RULES can replace it");
    return 0;
}

static int edit_preload(const char *lib, int add)
{
    char *text, *out;
    size_t len, outlen;
    const char *why = NULL;
    if (read_all(HFS_LD_SO_PRELOAD, &text, &len, &why) != 0) {
        fprintf(stderr, "hfshim: cannot read %s: %s\n", HFS_LD_SO_PRELOAD, why);
        return 1;
    }
    int changed = hfs_preloadfile_edit(text ? text : "", len, lib, add, &out, &outlen);
    free(text);
    text = NULL;
    if (changed < 0) {
        fprintf(stderr, "hfshim: cannot edit %s (out of memory, or the library path %s has blanks or colons)\n",
                HFS_LD_SO_PRELOAD, lib ? lib : "");
        return 1;
    }
    int rc = 0;
    if (!changed) {
        printf("%s: %s\n", HFS_LD_SO_PRELOAD, add ? "already preloads the library" : "does not preload hfshim");
    } else if (!add && strspn(out, " \t\r\n:") == outlen) {
        if (unlink(HFS_LD_SO_PRELOAD) != 0 && errno != ENOENT) {
            fprintf(stderr, "hfshim uninstall --system: cannot remove %s: %s\n", HFS_LD_SO_PRELOAD, strerror(errno));
            rc = 1;
        } else {
            printf("%s: removed (hfshim was its only entry)\n", HFS_LD_SO_PRELOAD);
        }
    } else if (write_atomic(HFS_LD_SO_PRELOAD, out, outlen) != 0) {
        fprintf(stderr, "hfshim: cannot write %s: %s\n", HFS_LD_SO_PRELOAD, strerror(errno));
        rc = 1;
    } else {
        printf("%s: %s\n", HFS_LD_SO_PRELOAD, add ? "preloads the library" : "hfshim entries removed");
    }
    free(out);
    return rc;
}

static int usage(const char *cmd, const char *why)
{
    fprintf(stderr, "hfshim %s: %s\n", cmd, why);
    hfs_usage(cmd);
    return 2;
}

int hfs_cmd_install(int argc, char **argv)
{
    const char *rules = NULL;
    int system = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--system") == 0)
            system = 1;
        else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            rules = argv[++i];
        else if (strncmp(argv[i], "--rules=", 8) == 0)
            rules = argv[i] + 8;
        else
            return usage("install", "unknown argument");
    }
    if (!system)
        return usage("install", "only --system is supported (make install puts the files in place)");
    if (need_root("install"))
        return 1;
    char lib[PATH_MAX], why[PATH_MAX + 100];
    if (hfs_lib_path(lib, sizeof lib) != 0) {
        fprintf(stderr, "hfshim install --system: the library is missing (%s): install hfshim first\n", lib);
        return 1;
    }
    if (hfs_file_trusted(lib, why, sizeof why)) {
        fprintf(stderr,
                "hfshim install --system: not preloading %s: %s; whoever can change it would run code in "
                "every program, setuid ones included\n",
                lib, why);
        return 1;
    }
    if (musl_root(why, sizeof why)) {
        fprintf(stderr,
                "hfshim install --system: this system's C library is musl (%s): %s is built for glibc, "
                "musl does not read %s, and a musl program would not start with it preloaded; not "
                "installing (hfshim supports glibc >= 2.17 only)\n",
                why, lib, HFS_LD_SO_PRELOAD);
        return 1;
    }
    if (smoke_test(lib) != 0) {
        fprintf(stderr, "hfshim install --system: a program does not start with %s preloaded: not installing\n", lib);
        return 1;
    }
    if (rules) {
        char abs[PATH_MAX];
        if (!realpath(rules, abs)) {
            fprintf(stderr, "hfshim install --system: %s: %s\n", rules, strerror(errno));
            return 1;
        }
        if (strcmp(abs, HFS_SYSTEM_RULES) == 0) {
            struct hfs_diag d;
            hfs_cli_diag(&d);
            struct hfs_rules *r = hfs_rules_load_file(abs, &d);
            if (!r) {
                fprintf(stderr, "hfshim install --system: %s has errors (see above)\n", abs);
                return 2;
            }
            int locked = r->locked;
            hfs_rules_free(r);
            if (policy_folder() != 0 || own_policy_file() != 0) {
                fprintf(stderr, "hfshim install --system: cannot make %s root's: %s\n", HFS_SYSTEM_RULES,
                        strerror(errno));
                return 1;
            }
            printf("%s: in place (%s)\n", HFS_SYSTEM_RULES, locked ? "locked" : "not locked");
        } else {
            int rc = install_rules(abs);
            if (rc)
                return rc;
        }
    } else if (access(HFS_SYSTEM_RULES, F_OK) != 0) {
        char def[PATH_MAX];
        hfs_default_rules_path(def, sizeof def);
        printf("%s: none (the installed default %s applies, and HFSHIM_RULES can replace it)\n", HFS_SYSTEM_RULES, def);
    }
    /* the policy is in place before any program preloads the library */
    if (edit_preload(lib, 1))
        return 1;
    printf("every program started from now on runs under hfshim; check with: hfshim doctor\n");
    return 0;
}

int hfs_cmd_uninstall(int argc, char **argv)
{
    int system = 0, keep = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--system") == 0)
            system = 1;
        else if (strcmp(argv[i], "--keep-rules") == 0)
            keep = 1;
        else
            return usage("uninstall", "unknown argument");
    }
    if (!system)
        return usage("uninstall", "only --system is supported (make uninstall removes the files)");
    if (need_root("uninstall"))
        return 1;
    /* the preload goes first: no program starts with the library and no policy */
    int rc = edit_preload(NULL, 0);
    if (rc) {
        fprintf(stderr, "hfshim uninstall --system: %s kept, as the library is still preloaded\n", HFS_SYSTEM_RULES);
        return rc;
    }
    if (keep) {
        printf("%s: kept\n", HFS_SYSTEM_RULES);
    } else if (unlink(HFS_SYSTEM_RULES) == 0) {
        printf("%s: removed\n", HFS_SYSTEM_RULES);
        remove_compiled();
        if (rmdir(RULES_DIR) == 0)
            printf("%s: removed (empty)\n", RULES_DIR);
    } else if (errno == ENOENT) {
        printf("%s: not there\n", HFS_SYSTEM_RULES);
    } else {
        fprintf(stderr, "hfshim uninstall --system: cannot remove %s: %s\n", HFS_SYSTEM_RULES, strerror(errno));
        rc = 1;
    }
    return rc;
}
