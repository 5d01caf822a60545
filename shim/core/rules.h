/* rules: loading a rules file (JSON, version 1) into struct hfs_rules
 * (rules_types.h), and the model's lifetime. Every error names
 * file:line:col and the JSON path and says what is wrong; unknown keys are
 * warnings. See rules/README.md for the format.
 *
 * The loader is split by job: rules.c the top level (version, offline,
 * includes, ...) and the files; rules_sections.c the env, log, tokens and
 * reach sections; rules_rule.c one rule (name, window, action or preset);
 * rules_match.c its match; actions.c the table of actions with each
 * action's parameters; rules_json.c the position-aware JSON reading they
 * all use. This header brings the parts a user of the rules needs. */
#ifndef HFS_RULES_H
#define HFS_RULES_H
#include <stddef.h>

#include "actions.h"
#include "hostpat.h"
#include "rules_json.h"
#include "rules_match.h"
#include "rules_rule.h"
#include "rules_types.h"

/* Loads a rules file. Returns NULL when there was any error (d->errors > 0). */
struct hfs_rules *hfs_rules_load_file(const char *path, struct hfs_diag *d);
/* Same from memory; name is used in messages. */
struct hfs_rules *hfs_rules_load_buffer(const char *name, const char *text, size_t len, struct hfs_diag *d);
/* The safe default: offline, default Hub hosts, no rules. */
struct hfs_rules *hfs_rules_safe_default(void);
void hfs_rules_free(struct hfs_rules *r);

/* Adds a Hub host pattern (e.g. the HF_ENDPOINT host:port). 0 or -1. */
int hfs_rules_add_hub(struct hfs_rules *r, const char *pattern);

/* Adds the host:port of an endpoint URL (HF_ENDPOINT) as a Hub host;
 * "localhost" also adds 127.0.0.1 and [::1] at that port. 0, or -1 when
 * the value is not a URL with a host. */
int hfs_rules_add_endpoint(struct hfs_rules *r, const char *url);

/* The Hub hosts used when a file has no hub_hosts. */
extern const char *const hfs_default_hub_hosts[];

#endif
