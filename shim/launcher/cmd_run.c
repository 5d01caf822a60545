/* cmd_run: `hfshim run`: validate the rules, set up the environment
 * (LD_PRELOAD first, absolute HFSHIM_RULES, enforced variables) and exec
 * the command in place: its pid, signals and exit status are its own. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/childenv.h"
#include "../core/envpolicy.h"
#include "../core/counterfile.h"
#include "../core/faultspec.h"
#include "../core/readfile.h"
#include "../core/syspolicy.h"
#include "launcher.h"
#include "whoami.h"

static int find_in_path(const char *cmd, char *out, size_t outlen)
{
    const char *path = getenv("PATH");
    if (strchr(cmd, '/'))
        return snprintf(out, outlen, "%s", cmd) < (int)outlen && access(out, F_OK) == 0 ? 0 : -1;
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchrnul(path, ':');
        int w = snprintf(out, outlen, "%.*s%s%s", (int)(end - path), path, end == path ? "" : "/", cmd);
        if (w > 0 && (size_t)w < outlen && access(out, X_OK) == 0) {
            struct stat st;
            if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
                return 0;
        }
        path = *end ? end + 1 : end;
    }
    return -1;
}

/* 1 when the ELF file has no program interpreter (statically linked). */
static int is_static_elf(const char *file)
{
    Elf64_Ehdr eh;
    struct stat st;
    const char *why;
    int fd = hfs_file_open(file, O_RDONLY, 0, &st, &why), stat_ = 0; /* a FIFO is not waited on */
    if (fd < 0)
        return 0;
    if (hfs_sys_read(fd, &eh, sizeof eh) == (long)sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr)) {
        stat_ = 1;
        for (int i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (hfs_sys_pread(fd, &ph, sizeof ph, eh.e_phoff + (size_t)i * sizeof ph) != (long)sizeof ph)
                break;
            if (ph.p_type == PT_INTERP) {
                stat_ = 0;
                break;
            }
        }
    }
    hfs_sys_close(fd);
    return stat_;
}

static void warn_unshimmable(const char *cmd, const char *file)
{
    struct stat st;
    if (stat(file, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)) && (st.st_uid != getuid() || st.st_gid != getgid()))
        fprintf(stderr,
                "hfshim: warning: %s is set%s: the dynamic loader ignores LD_PRELOAD for it, so the shim cannot act "
                "there (its children may still be shimmed)\n",
                cmd, st.st_mode & S_ISUID ? "uid" : "gid");
    if (getxattr(file, "security.capability", NULL, 0) > 0)
        fprintf(stderr,
                "hfshim: warning: %s has file capabilities (setcap): the dynamic loader runs it in secure mode and "
                "ignores LD_PRELOAD, so the shim cannot act there\n",
                cmd);
    if (is_static_elf(file))
        fprintf(stderr,
                "hfshim: warning: %s is statically linked: LD_PRELOAD cannot reach it, so only the environment "
                "variables apply (offline variables, env.set/unset)\n",
                cmd);
}

static pid_t child_pid;

static void forward(int sig)
{
    if (child_pid > 0)
        kill(child_pid, sig);
}

/* Runs the program as a child so the run's fault counters file can be
 * removed after it (rules with a window); the exit status (or signal) is
 * the program's. */
static int run_counted(char **cmd, const char *counters)
{
    /* signals sent to hfshim go on to the command; a terminal's ^C and ^\
     * reach the command by themselves (same process group): ignored here.
     * They are blocked across the fork, so one that comes before the
     * forwarding is in place waits for it instead of killing hfshim and
     * leaving the command behind. */
    static const int sigs[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
    sigset_t block, old;
    sigemptyset(&block);
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
        sigaddset(&block, sigs[k]);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t pid = fork();
    if (pid < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        fprintf(stderr, "hfshim: cannot start %s: %s\n", cmd[0], strerror(errno));
        unlink(counters);
        return 126;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(cmd[0], cmd);
        int err = errno;
        fprintf(stderr, "hfshim: cannot run %s: %s\n", cmd[0], strerror(err));
        _exit(err == ENOENT ? 127 : 126);
    }
    child_pid = pid;
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        struct sigaction sa = { .sa_handler = forward };
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[k], &sa, NULL);
    }
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    sigprocmask(SIG_SETMASK, &old, NULL); /* a signal that came meanwhile is forwarded now */
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    unlink(counters);
    if (WIFSIGNALED(st)) {
        signal(WTERMSIG(st), SIG_DFL);
        kill(getpid(), WTERMSIG(st));
        return 128 + WTERMSIG(st);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int usage_error(const char *msg)
{
    fprintf(
        stderr,
        "hfshim run: %s\nusage: hfshim run [--rules FILE] [--offline[=variables]] [--log FILE|-|off] [--log-format "
        "text|json]\n"
        "                  [--fault SPEC]... [--audit FILE] [--] CMD [ARGS...]\n"
        "  SPEC: PRESET|refuse|dns-fail|hang[=connect]|reset[=N]|throttle=BPS|delay=MS|STATUS[:MATCH][@first=N,after=N,"
        "every=N,p=P,seed=S,program=NAME]\n",
        msg);
    return 2;
}

struct run_bufs {
    char faults[8192], both[8192];
    char used[PATH_MAX], abs[PATH_MAX], lib[PATH_MAX], file[PATH_MAX];
    char preload[16384];
};

static int run(int argc, char **argv, struct run_bufs *b)
{
    const char *rules_arg = NULL, *log_arg = NULL, *log_format = NULL, *audit_arg = NULL;
    int offline = 0, i;
    char *faults = b->faults;
    size_t flen = 0;
    char *used = b->used, *abs = b->abs, *lib = b->lib, *file = b->file;
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (argv[i][0] != '-')
            break;
        if (hfs_cli_offline_arg(argv[i])) {
            offline = hfs_cli_offline_arg(argv[i]);
            if (offline < 0)
                return 2;
        } else if (strcmp(argv[i], "--fault") == 0 || strcmp(argv[i], "--audit") == 0) {
            if (i + 1 >= argc)
                return usage_error("missing value after an option");
            if (argv[i][2] == 'a') {
                audit_arg = argv[++i];
                continue;
            }
            const char *f = argv[++i];
            if (strchr(f, '\n') || flen + strlen(f) + 2 > sizeof b->faults)
                return usage_error("--fault: too long, or a line break in it");
            flen += (size_t)snprintf(faults + flen, sizeof b->faults - flen, "%s%s", flen ? "\n" : "", f);
        } else if ((strcmp(argv[i], "--rules") == 0 || strcmp(argv[i], "--log") == 0 ||
                    strcmp(argv[i], "--log-format") == 0)) {
            if (i + 1 >= argc)
                return usage_error("missing value after an option");
            if (argv[i][2] == 'r')
                rules_arg = argv[++i];
            else if (strcmp(argv[i], "--log") == 0)
                log_arg = argv[++i];
            else
                log_format = argv[++i];
        } else {
            char msg[300];
            snprintf(msg, sizeof msg, "unknown option %s", argv[i]);
            return usage_error(msg);
        }
    }
    if (i >= argc)
        return usage_error("no command given");
    if (log_format && strcmp(log_format, "text") != 0 && strcmp(log_format, "json") != 0)
        return usage_error("--log-format takes text or json");
    struct hfs_rules *r = hfs_load_for_cli(rules_arg, offline, used, sizeof b->used);
    if (!r) {
        fprintf(stderr, "hfshim: refusing to run %s: the rules have errors (see above)\n", argv[i]);
        return 2;
    }
    /* --fault shortcuts (and faults already in the environment) are checked as rules */
    const char *inherited = getenv("HFSHIM_FAULT");
    if (inherited && *inherited && flen + strlen(inherited) + 2 < sizeof b->faults) {
        char *both = b->both;
        if (snprintf(both, sizeof b->both, "%s%s%s", inherited, flen ? "\n" : "", faults) < (int)sizeof b->both)
            snprintf(faults, sizeof b->faults, "%s", both); /* always: the sizes are checked above */
        flen = strlen(faults);
    }
    if (flen) {
        struct hfs_diag fd;
        hfs_cli_diag(&fd);
        if (hfs_faults_apply(r, faults, &fd)) {
            fprintf(stderr, "hfshim: refusing to run %s: a --fault is wrong (see above)\n", argv[i]);
            hfs_rules_free(r);
            return 2;
        }
        setenv("HFSHIM_FAULT", faults, 1);
    }
    if (audit_arg) {
        char auditabs[PATH_MAX + 2], cwd[PATH_MAX];
        const char *dest = audit_arg;
        if (audit_arg[0] != '/' && getcwd(cwd, sizeof cwd) &&
            (size_t)snprintf(auditabs, sizeof auditabs, "%s/%s", cwd, audit_arg) < sizeof auditabs)
            dest = auditabs;
        setenv("HFSHIM_AUDIT", dest, 1);
    }
    /* rules with a window count their matches over the whole run: one
     * fresh counters file, shared by every process, removed at the end */
    char counters[512] = "";
    if (hfs_rules_have_windows(r)) {
        if (hfs_counterfile_create(getenv("XDG_RUNTIME_DIR"), counters, sizeof counters) == 0)
            setenv("HFSHIM_COUNTERS", counters, 1);
        else {
            fprintf(stderr, "hfshim: warning: no file for the fault window counters (%s): each process counts alone\n",
                    strerror(errno));
            counters[0] = 0;
            unsetenv("HFSHIM_COUNTERS");
        }
    } else {
        unsetenv("HFSHIM_COUNTERS");
    }
    if (hfs_lib_path(lib, sizeof b->lib) != 0) {
        fprintf(stderr, "hfshim: cannot find the library at %s (is hfshim installed completely?)\n", lib);
        return 2;
    }
    if (!realpath(used, abs)) {
        fprintf(stderr, "hfshim: %s: %s\n", used, strerror(errno));
        return 2;
    }
    /* tokens.validate: the token huggingface_hub would send is checked once
     * against whoami-v2 before the program runs (never offline); the
     * library reads the verdict from the state file */
    if (r->tokens.present && r->tokens.validate && !r->offline)
        hfs_validate_before_run(r);
    /* Environment for the program (and, through the library, its children). */
    char *preload = b->preload;
    const char *old = getenv("LD_PRELOAD");
    if (hfs_preload_compose(old ? old : "", lib, 1, preload, sizeof b->preload) < 0) {
        fprintf(stderr, "hfshim: LD_PRELOAD is too long\n");
        return 2;
    }
    setenv("LD_PRELOAD", preload, 1);
    if (hfs_cli_locked) {
        /* the library reads the locked policy itself; what it would ignore
         * (and log as an attempt) is not passed on */
        unsetenv("HFSHIM_RULES");
        if (offline && r->offline != offline)
            offline = 0;
        if (log_arg) {
            fprintf(stderr,
                    "hfshim: the locked system policy %s applies: --log %s ignored (the policy says where "
                    "the log goes)\n",
                    HFS_SYSTEM_RULES, log_arg);
            log_arg = NULL;
        }
        unsetenv("HFSHIM_LOG"); /* load.c said so if it was set */
    } else {
        setenv("HFSHIM_RULES", abs, 1);
    }
    if (offline)
        setenv("HFSHIM_OFFLINE", offline == HFS_OFFLINE_VARIABLES ? "variables" : "1", 1);
    if (log_arg) {
        /* a relative file is made absolute: children may change directory */
        char logabs[PATH_MAX + 2], cwd[PATH_MAX];
        const char *dest = log_arg;
        if (strcmp(log_arg, "-") == 0)
            dest = "stderr";
        else if (log_arg[0] != '/' && strcmp(log_arg, "stderr") != 0 && strcmp(log_arg, "off") != 0 &&
                 getcwd(cwd, sizeof cwd) &&
                 (size_t)snprintf(logabs, sizeof logabs, "%s/%s", cwd, log_arg) < sizeof logabs)
            dest = logabs;
        setenv("HFSHIM_LOG", dest, 1);
    }
    if (log_format)
        setenv("HFSHIM_LOG_FORMAT", log_format, 1);
    /* Static programs never load the library: give them the variables now. */
    struct hfs_envvar env[128];
    struct hfs_diag d;
    hfs_cli_diag(&d);
    const char *which;
    if (hfs_env_hub_offline(r, hfs_cli_env, &which)) /* the switch becomes 0 below: the library must still know */
        setenv("HFSHIM_HUB_OFFLINE", "1", 1);
    size_t n = hfs_env_plan(r, hfs_cli_env, env, 128, &d);
    for (size_t k = 0; k < n; k++) {
        if (env[k].value)
            setenv(env[k].name, env[k].value, 1);
        else
            unsetenv(env[k].name);
    }
    if (find_in_path(argv[i], file, sizeof b->file) == 0)
        warn_unshimmable(argv[i], file);
    hfs_rules_free(r);
    if (counters[0])
        return run_counted(argv + i, counters);
    execvp(argv[i], argv + i);
    int err = errno;
    fprintf(stderr, "hfshim: cannot run %s: %s\n", argv[i], strerror(err));
    return err == ENOENT ? 127 : 126;
}

/* hfshim run's large buffers, on the heap: no launcher frame above 16 KiB */
int hfs_cmd_run(int argc, char **argv)
{
    struct run_bufs *b = calloc(1, sizeof *b);
    if (!b) {
        fprintf(stderr, "hfshim: out of memory\n");
        return 2;
    }
    int rc = run(argc, argv, b);
    free(b);
    return rc;
}
