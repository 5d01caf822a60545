/* exec_clean: runs a command (at most 3 arguments for execle) with an EMPTY environment through one of the
 * exec-family calls or posix_spawn, to show children stay under the shim.
 * usage: exec_clean execve|execle|execvp|posix_spawn|fork-execv CMD [ARGS...] */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    char *empty[] = { NULL };
    if (argc < 3) {
        fprintf(stderr, "usage: exec_clean MODE CMD [ARGS...]\n");
        return 2;
    }
    const char *mode = argv[1];
    char **cmd = argv + 2;
    if (strcmp(mode, "execve") == 0) {
        execve(cmd[0], cmd, empty);
    } else if (strcmp(mode, "execle") == 0) {
        if (argc == 3)
            execle(cmd[0], cmd[0], (char *)NULL, empty);
        else if (argc == 4)
            execle(cmd[0], cmd[0], cmd[1], (char *)NULL, empty);
        else if (argc == 5)
            execle(cmd[0], cmd[0], cmd[1], cmd[2], (char *)NULL, empty);
        else
            execle(cmd[0], cmd[0], cmd[1], cmd[2], cmd[3], (char *)NULL, empty);
    } else if (strcmp(mode, "execvp") == 0) {
        clearenv();
        execvp(cmd[0], cmd);
    } else if (strcmp(mode, "posix_spawn") == 0) {
        pid_t pid;
        int st;
        if (posix_spawn(&pid, cmd[0], NULL, NULL, cmd, empty) != 0)
            return 126;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    } else if (strcmp(mode, "fork-execv") == 0) {
        pid_t pid = fork();
        int st;
        if (pid == 0) {
            environ = empty;
            execv(cmd[0], cmd);
            _exit(127);
        }
        waitpid(pid, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    }
    perror("exec");
    return 127;
}
