/* main: the `hfshim` command: run a program under the shim, check rules
 * files, explain a decision. */
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

static const char help[] =
    "NAME\n"
    "    hfshim - run a program with Hugging Face offline mode, Hub and token rules\n"
    "\n"
    "SYNOPSIS\n"
    "    hfshim run [--rules FILE] [--offline[=variables]] [--log FILE|-|off] [--log-format text|json] [--] CMD "
    "[ARGS...]\n"
    "    hfshim check [-q] FILE... | hfshim check --actions\n"
    "    hfshim explain [--rules FILE] [--offline[=variables]] METHOD URL\n"
    "    hfshim cache [--rules FILE]\n"
    "    hfshim doctor [--rules FILE] [--online]\n"
    "    hfshim install --system [--rules FILE] | hfshim uninstall --system [--keep-rules]\n"
    "    hfshim --help | --version\n"
    "\n"
    "DESCRIPTION\n"
    "    hfshim preloads libhfshim.so into an unmodified program and its children. Following a rules\n"
    "    file it sets the Hugging Face environment variables, and blocks the lookups and connections\n"
    "    the rules forbid, at once and with one log line, instead of letting the program hang.\n"
    "\n"
    "COMMANDS\n"
    "    run      Validates the rules (refusing to start, exit status 2, when they have errors), puts\n"
    "             the library first in LD_PRELOAD (after sanitizer runtimes, keeping the other entries,\n"
    "             never twice), exports the absolute rules path as HFSHIM_RULES, and executes CMD in\n"
    "             place: the program keeps hfshim's process id, receives signals directly and its exit\n"
    "             status is the command's. Warns when CMD is setuid, setgid, has file capabilities or is\n"
    "             statically linked: the preload cannot act there.\n"
    "    check    Validates rules files and prints what they do. Errors read\n"
    "             FILE:LINE:COL: JSON.PATH: what is wrong. Exit status 0 when every file is valid, 2 otherwise.\n"
    "             --actions lists the actions a rule can take, with their parameters.\n"
    "    explain  Dry run: for METHOD URL, says what the lookup, the connection and the HTTP request\n"
    "             would meet (allow or block, and which rule), and what the program would see; for a\n"
    "             Hub metadata call, whether its snapshot is cached and what would be answered.\n"
    "    doctor   Every token source (HF_TOKEN, HUGGING_FACE_HUB_TOKEN, token file, stored tokens,\n"
    "             ~/.netrc, git credentials), what is wrong with each and the conflicts; HF_ENDPOINT,\n"
    "             cache folders, offline and Xet variables, the system policy. --online checks tokens\n"
    "             with whoami-v2.\n"
    "    cache    Lists the cache folders searched and every cached repo revision hfshim can answer\n"
    "             Hub metadata calls for (repo info, tree, paths-info, resolve) without the network.\n"
    "    install --system  As root: every program started afterwards runs under the shim\n"
    "             (/etc/ld.so.preload names the library); --rules FILE is checked and becomes the\n"
    "             system policy /etc/hfshim/rules.json. With \"locked\": true in it, HFSHIM_RULES,\n"
    "             HFSHIM_OFFLINE=0, HFSHIM_LOG and a child's changed LD_PRELOAD cannot weaken it, and\n"
    "             when it cannot be read the library enforces offline. Idempotent.\n"
    "    uninstall --system  Removes hfshim from /etc/ld.so.preload (the file too when nothing else\n"
    "             is in it) and the system policy (unless --keep-rules).\n"
    "\n"
    "OPTIONS\n"
    "    --rules FILE        Rules file (default: HFSHIM_RULES, else share/hfshim/rules/default.json\n"
    "                        next to the installation). Format: rules/README.md.\n"
    "    --offline           Offline mode over any rules: every non-loopback destination blocked,\n"
    "                        Hub calls answered from the local cache or blocked at the HTTP level;\n"
    "                        the libraries are not told (a user's HF_HUB_OFFLINE=1 becomes 0), so\n"
    "                        model_info() works from the cache.\n"
    "    --offline=variables Offline mode that also sets the Hugging Face offline variables to 1.\n"
    "    --log FILE|-|off    Where the library logs (HFSHIM_LOG): stderr (-, the default), a file\n"
    "                        (appended, one line per event), or off.\n"
    "    --log-format F      text (default) or json: one JSON object per line.\n"
    "\n"
    "ENVIRONMENT\n"
    "    HFSHIM_RULES        Rules file for the library (absolute path; set by hfshim run); ignored\n"
    "                        under a locked system policy.\n"
    "    HFSHIM_OFFLINE      1/true/yes/on forces offline mode, \"variables\" the variables form;\n"
    "                        0/false/no/off turns it off.\n"
    "    HFSHIM_LOG          stderr, off, or a file path.\n"
    "    HFSHIM_LOG_FORMAT   text or json.\n"
    "    HF_ENDPOINT         Its host:port counts as a Hub host (mirrors, test servers).\n"
    "\n"
    "EXIT STATUS\n"
    "    run: the command's own status; 2 when the rules are invalid or the library is missing;\n"
    "    126/127 when CMD cannot be executed / is not found. check, explain, cache: 0 or 2.\n"
    "    install/uninstall --system: 0; 1 without root or when a file cannot be written; 2 for bad rules.\n"
    "\n"
    "LIMITS\n"
    "    Statically linked programs (many Go binaries), raw system calls and io_uring bypass libc and\n"
    "    the preload. Clients with their own TLS or DNS (rustls, hickory, c-ares over raw sockets) are\n"
    "    seen at the connection level only.\n"
    "\n"
    "EXAMPLES\n"
    "    hfshim run --offline -- python3 app.py\n"
    "    hfshim check rules/offline.json\n"
    "    hfshim explain GET https://huggingface.co/api/models/gpt2\n"
    "    hfshim run --rules rules/cache-first.json -- python3 app.py\n"
    "    hfshim cache\n";

int main(int argc, char **argv)
{
    hfs_re_error_hook = regex_gave_up;
    if (argc < 2) {
        fputs(help, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(help, stdout);
        return 0;
    }
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
