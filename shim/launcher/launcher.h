/* launcher: the `hfshim` command's shared pieces (paths, rule loading with
 * messages on stderr, the policy the library would build). */
#ifndef HFS_LAUNCHER_H
#define HFS_LAUNCHER_H
#include <stddef.h>
#include <stdio.h>

#include "../core/rules.h"

/* HFS_VERSION: the file VERSION at the top of the tree, passed by the
 * Makefile (-DHFS_VERSION=...), as the .deb and the wheel take it */
#ifndef HFS_VERSION
#error "HFS_VERSION is not defined: build with the Makefile (it reads the file VERSION)"
#endif

/* Directory holding this executable (from /proc/self/exe), e.g. /usr/bin. */
int hfs_self_dir(char *out, size_t outlen);
/* <prefix>/lib/libhfshim.so (else <prefix>/lib/hfshim/libhfshim.so, the
 * .deb's place) and <prefix>/share/hfshim/rules/default.json, relative to
 * the executable (never the current directory). */
int hfs_lib_path(char *out, size_t outlen);
int hfs_default_rules_path(char *out, size_t outlen);

/* Loads rules (path NULL: HFSHIM_RULES, else the default file), printing
 * every error and warning to stderr. Applies HFSHIM_OFFLINE / offline_flag
 * and HF_ENDPOINT as the library does. Returns NULL on error. */
/* A diagnostics sink that prints each message on stderr. */
void hfs_cli_diag(struct hfs_diag *d);
struct hfs_rules *hfs_load_for_cli(const char *path, int offline_flag, char *used_path, size_t used_len);
/* Set by hfs_load_for_cli: a locked (or broken) system policy applies. */
extern int hfs_cli_locked;

/* getenv with the core's signature (hfs_env_fn). */
const char *hfs_cli_env(const char *name);

/* "--offline" and "--offline=variables": the offline mode, 0 for other
 * arguments, -1 for an unknown mode (a message was printed). */
int hfs_cli_offline_arg(const char *arg);

/* Human summary of what the rules do. */
void hfs_print_summary(const struct hfs_rules *r);

/* help.c: the commands' synopses and options, one table. */
int hfs_is_help_arg(const char *arg);          /* --help or -h */
void hfs_help_all(FILE *out);                  /* hfshim --help */
int hfs_help_cmd(const char *name, FILE *out); /* hfshim CMD --help; -1: no such command */
void hfs_usage(const char *name);              /* "usage: hfshim CMD ..." on stderr */

int hfs_cmd_run(int argc, char **argv);
int hfs_cmd_check(int argc, char **argv);
int hfs_cmd_explain(int argc, char **argv);
int hfs_cmd_cache(int argc, char **argv);
int hfs_cmd_doctor(int argc, char **argv);
int hfs_cmd_install(int argc, char **argv);
int hfs_cmd_uninstall(int argc, char **argv);

#endif
