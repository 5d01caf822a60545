/* main: the `hfshim` command: run a program under the shim, check rules
 * files, explain a decision. Its help and usage lines are in help.c. */
#include <stdio.h>
#include <string.h>

#include "../core/regex.h"
#include "launcher.h"

/* `hfshim explain` and friends: a rule's regex that gave up says so. */
static void regex_gave_up(const char *pattern, const char *error)
{
    fprintf(stderr,
            "hfshim: the regex %.200s gave up (%s): a block or strip rule counts it as a match, any other "
            "rule as no match\n",
            pattern, error);
}

int main(int argc, char **argv)
{
    hfs_re_error_hook = regex_gave_up;
    if (argc < 2) {
        hfs_help_all(stderr);
        return 2;
    }
    if (hfs_is_help_arg(argv[1]) || strcmp(argv[1], "help") == 0) {
        if (argc > 2 && hfs_help_cmd(argv[2], stdout) == 0) /* hfshim help run */
            return 0;
        hfs_help_all(stdout);
        return 0;
    }
    if (argc > 2 && hfs_is_help_arg(argv[2]) && hfs_help_cmd(argv[1], stdout) == 0)
        return 0;
    if (strcmp(argv[1], "--version") == 0) {
        printf("hfshim %s\n", HFS_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return hfs_cmd_run(argc - 2, argv + 2);
    if (strcmp(argv[1], "check") == 0)
        return hfs_cmd_check(argc - 2, argv + 2);
    if (strcmp(argv[1], "explain") == 0)
        return hfs_cmd_explain(argc - 2, argv + 2);
    if (strcmp(argv[1], "cache") == 0)
        return hfs_cmd_cache(argc - 2, argv + 2);
    if (strcmp(argv[1], "doctor") == 0)
        return hfs_cmd_doctor(argc - 2, argv + 2);
    if (strcmp(argv[1], "install") == 0)
        return hfs_cmd_install(argc - 2, argv + 2);
    if (strcmp(argv[1], "uninstall") == 0)
        return hfs_cmd_uninstall(argc - 2, argv + 2);
    fprintf(stderr, "hfshim: unknown command \"%s\" (try hfshim --help)\n", argv[1]);
    return 2;
}
