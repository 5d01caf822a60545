/* faultspec: the `hfshim run --fault SPEC` shortcut (also HFSHIM_FAULT,
 * one SPEC per line) turned into rules placed before the file's rules:
 *
 *   SPEC   = KIND [":" MATCH] ["@" WINDOW]
 *   KIND   = a preset name | refuse | dns-fail | hang | hang=connect |
 *            reset[=BYTES] | throttle=BYTES_PER_S | delay=MS | a status (100-599)
 *   MATCH  = @hub (default) | /REGEX (path on Hub hosts) | a URL regex
 *            (contains "://") | a host pattern
 *   WINDOW = KEY=VALUE[,KEY=VALUE...], keys first, after, every, p, seed, program
 *
 * Each SPEC becomes one JSON rule loaded by the rules loader, so a
 * shortcut is checked exactly as the same rule in a file. Pure. */
#ifndef HFS_FAULTSPEC_H
#define HFS_FAULTSPEC_H
#include <stddef.h>

#include "rules.h"

/* The JSON rule object for spec (index: its number, for the rule name
 * "--fault N"), written to out. 0, or -1 with a message in err naming
 * the column of spec that is wrong. */
int hfs_faultspec_rule(const char *spec, int index, char *out, size_t cap, char *err, size_t errcap);

/* Parses every line of specs (newline-separated) and puts their rules
 * before r's rules (the index is rebuilt). 0, or -1 with d reporting
 * "--fault SPEC: ..." (r unchanged). */
int hfs_faults_apply(struct hfs_rules *r, const char *specs, struct hfs_diag *d);

#endif
