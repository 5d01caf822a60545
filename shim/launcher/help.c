/* help: `hfshim --help`, `hfshim CMD --help` and the usage lines the
 * commands print on a usage error, from one table of commands and their
 * options. The man page hfshim(1) (docs/man/hfshim.1.scd) says the same;
 * tests/test_docs_cli.py holds the two together and checks that every
 * option listed here is one the command's parser takes. */
#include <stdio.h>
#include <string.h>

#include "launcher.h"

struct opt {
    const char *flag; /* "--rules FILE" */
    const char *help;
};

struct cmd {
    const char *name;
    const char *synopsis[3]; /* after "hfshim " */
    const char *summary;     /* one line for `hfshim --help` */
    const char *text;        /* what it does, for `hfshim CMD --help` */
    struct opt opts[10];
};

#define OPT_RULES                                                                                                      \
    {                                                                                                                  \
        "--rules FILE", "rules file (default: HFSHIM_RULES, else share/hfshim/rules/default.json)"                     \
    }
#define OPT_OFFLINE                                                                                                    \
    {                                                                                                                  \
        "--offline[=variables]",                                                                                       \
            "offline mode over any rules; =variables also sets HF_HUB_OFFLINE=1 and the other offline variables"       \
    }

static const struct cmd cmds[] = {
    { "run",
      { "run [--rules FILE] [--offline[=variables]] [--log FILE|-|off] [--log-format text|json]\n"
        "           [--fault SPEC]... [--audit FILE] [--] CMD [ARGS...]" },
      "run CMD with the library preloaded and the rules checked first",
      "Checks the rules (exit status 2 when they have errors), puts the library first in LD_PRELOAD,\n"
      "exports HFSHIM_RULES and executes CMD in place: its pid, signals and exit status are its own.\n"
      "Options stop at -- or at the first argument not starting with -.",
      { OPT_RULES,
        OPT_OFFLINE,
        { "--log FILE|-|off", "where the library logs (HFSHIM_LOG): - for stderr (the default), a file, or off" },
        { "--log-format text|json", "the log's format (HFSHIM_LOG_FORMAT)" },
        { "--fault SPEC",
          "add a fault before the rules (repeatable; HFSHIM_FAULT): "
          "KIND[:MATCH][@first=N,after=N,every=N,p=P,seed=S,program=NAME], KIND a preset, refuse, dns-fail, "
          "hang[=connect], reset[=N], throttle=BPS, delay=MS or a status" },
        { "--audit FILE", "append one JSON line per decision to FILE (HFSHIM_AUDIT)" },
        { NULL, NULL } } },
    { "check",
      { "check [-q] FILE...", "check --actions", "check --keys" },
      "check rules files and say what they do; list actions or keys",
      "Checks each FILE and prints what it does; errors read FILE:LINE:COL: JSON.PATH: message.\n"
      "Exit status 0 when every file is valid, 2 otherwise.",
      { { "-q", "print only errors and warnings (also --quiet)" },
        { "--actions", "list the actions a rule can take, with their parameters" },
        { "--keys", "list the keys each object of a rules file may hold, and the presets" },
        { NULL, NULL } } },
    { "explain",
      { "explain [--rules FILE] [--offline[=variables]] METHOD URL" },
      "dry run: what a request would meet at each layer",
      "Says what the lookup, the connection and the HTTP request of METHOD URL would meet under\n"
      "the rules, and for a Hub metadata call whether the local cache can answer it.",
      { OPT_RULES, OPT_OFFLINE, { NULL, NULL } } },
    { "cache",
      { "cache [--rules FILE]" },
      "list the cached repo revisions hfshim can answer for",
      "Lists the cache folders searched and every cached repo revision whose Hub metadata calls\n"
      "hfshim answers without the network.",
      { OPT_RULES, { NULL, NULL } } },
    { "doctor",
      { "doctor [--rules FILE] [--online]" },
      "token sources, cache, offline variables and reachability, with what to do",
      "Lists every token source with what is wrong with it and the conflicts, HF_ENDPOINT, the cache\n"
      "folders, the offline and Xet variables, reachability and the system policy.\n"
      "Exit status 0 when nothing is wrong, 1 when it found a problem, 2 for usage or rules errors.",
      { OPT_RULES, { "--online", "check each token once with the Hub's whoami-v2" }, { NULL, NULL } } },
    { "install",
      { "install --system [--rules FILE]" },
      "as root: every program runs under the shim (/etc/ld.so.preload)",
      "As root: checks --rules FILE and installs it as /etc/hfshim/rules.json (the system policy),\n"
      "then adds the library to /etc/ld.so.preload. Idempotent.",
      { { "--system", "required: the whole machine or container" },
        { "--rules FILE", "the system policy to install (also --rules=FILE)" },
        { NULL, NULL } } },
    { "uninstall",
      { "uninstall --system [--keep-rules]" },
      "as root: undo install --system",
      "As root: removes the library from /etc/ld.so.preload, then the system policy.",
      { { "--system", "required" }, { "--keep-rules", "keep /etc/hfshim/rules.json" }, { NULL, NULL } } },
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

static const char intro[] =
    "hfshim - run a program with Hugging Face offline mode, Hub and token rules\n"
    "\n"
    "hfshim preloads libhfshim.so into an unmodified program and its children. Following a rules\n"
    "file it sets the Hugging Face environment variables, answers Hub metadata calls from the local\n"
    "cache, removes bad tokens, injects faults for tests and blocks what the rules forbid, at once\n"
    "and with one log line, instead of letting the program hang.\n";

static const char tail[] =
    "\n"
    "ENVIRONMENT\n"
    "  HFSHIM_RULES        rules file (set by hfshim run; ignored under a locked system policy)\n"
    "  HFSHIM_OFFLINE      1/true/yes/on: offline mode, variables: its variables form, 0/false/no/off: off\n"
    "  HFSHIM_LOG          stderr, off, or a file\n"
    "  HFSHIM_LOG_FORMAT   text or json\n"
    "  HFSHIM_FAULT        fault specs, one per line (as --fault)\n"
    "  HFSHIM_AUDIT        the audit log file\n"
    "  HF_ENDPOINT         its host:port counts as a Hub host\n"
    "\n"
    "EXIT STATUS\n"
    "  run: the command's own; 2 for usage errors, invalid rules or a missing library; 126/127 when\n"
    "  CMD cannot be executed / is not found. check, explain, cache: 0, or 2. doctor: 0, 1 (problems\n"
    "  found) or 2. install/uninstall --system: 0; 1 without root or when a file cannot be written;\n"
    "  2 for usage errors or bad rules.\n"
    "\n"
    "Each command's options: hfshim CMD --help. Manual: man hfshim, man 5 hfshim-rules.\n";

static const struct cmd *find(const char *name)
{
    for (size_t i = 0; i < NCMDS; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

/* first: before the first line; then: before the others */
static void synopsis(FILE *out, const struct cmd *c, const char *first, const char *then)
{
    for (int k = 0; k < 3 && c->synopsis[k]; k++)
        fprintf(out, "%shfshim %s\n", k ? then : first, c->synopsis[k]);
}

int hfs_is_help_arg(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

void hfs_help_all(FILE *out)
{
    fputs(intro, out);
    fputs("\nSYNOPSIS\n", out);
    for (size_t i = 0; i < NCMDS; i++)
        synopsis(out, &cmds[i], "  ", "  ");
    fputs("  hfshim CMD --help\n  hfshim --help | --version\n\nCOMMANDS\n", out);
    for (size_t i = 0; i < NCMDS; i++)
        fprintf(out, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
    fputs(tail, out);
}

int hfs_help_cmd(const char *name, FILE *out)
{
    const struct cmd *c = find(name);
    if (!c)
        return -1;
    synopsis(out, c, "usage: ", "       ");
    fprintf(out, "\n%s\n\nOPTIONS\n", c->text);
    for (const struct opt *o = c->opts; o->flag; o++)
        fprintf(out, "  %-24s %s\n", o->flag, o->help);
    fprintf(out, "\nMore: man hfshim (COMMANDS, %s).\n", c->name);
    return 0;
}

void hfs_usage(const char *name)
{
    const struct cmd *c = find(name);
    if (!c)
        return;
    synopsis(stderr, c, "usage: ", "       ");
    fprintf(stderr, "(hfshim %s --help lists the options)\n", name);
}
