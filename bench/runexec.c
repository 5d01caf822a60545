/* runexec: runs a command REPS times in each of two environments, alternating A,B,B,A (fork+execve from this small process, so ru_maxrss is the command's own), one line per run: "A|B wall_ns maxrss_kib cpu_ns" (bench/bench.py). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long tv_ns(struct timeval tv)
{
    return (long long)tv.tv_sec * 1000000000LL + (long long)tv.tv_usec * 1000LL;
}

/* environ with NAME=VALUE overrides (each removes any NAME= already there). */
static char **make_env(char **over, int nover)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + (size_t)nover + 1, sizeof *env);
    size_t k = 0;
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int drop = 0;
        for (int j = 0; j < nover && !drop; j++) {
            size_t len = (size_t)(strchr(over[j], '=') - over[j]) + 1;
            drop = strncmp(environ[i], over[j], len) == 0;
        }
        if (!drop)
            env[k++] = environ[i];
    }
    for (int j = 0; j < nover; j++)
        env[k++] = over[j];
    env[k] = NULL;
    return env;
}

static int run(char **argv, char **env, int devnull, const char *tag)
{
    struct rusage ru;
    int status;
    long long t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        perror("runexec: fork");
        return -1;
    }
    if (pid == 0) {
        dup2(devnull, 1);
        execve(argv[0], argv, env);
        _exit(127);
    }
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) {
            perror("runexec: wait4");
            return -1;
        }
    long long t1 = now_ns();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "runexec: %s exited with status %d\n", argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    printf("%s %lld %ld %lld\n", tag, t1 - t0, ru.ru_maxrss, tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime));
    return 0;
}

int main(int argc, char **argv)
{
    char *a[16], *b[16];
    int na = 0, nb = 0, reps = 0, i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "-a") == 0 && i + 1 < argc && na < 16 && strchr(argv[i + 1], '='))
            a[na++] = argv[++i];
        else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc && nb < 16 && strchr(argv[i + 1], '='))
            b[nb++] = argv[++i];
        else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else
            break;
    }
    if (reps <= 0 || i >= argc || argv[i][0] != '/') {
        fprintf(stderr, "usage: runexec -n REPS [-a NAME=VAL]... [-b NAME=VAL]... -- /ABS/CMD [ARGS...]\n");
        return 2;
    }
    char **enva = make_env(a, na), **envb = make_env(b, nb);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (!enva || !envb || devnull < 0) {
        fprintf(stderr, "runexec: set-up failed\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int r = 0; r < reps; r++) {
        int a_first = (r & 1) == 0; /* A B, B A, A B, ...: order effects cancel */
        if (run(argv + i, a_first ? enva : envb, devnull, a_first ? "A" : "B") ||
            run(argv + i, a_first ? envb : enva, devnull, a_first ? "B" : "A"))
            return 1;
    }
    return 0;
}
