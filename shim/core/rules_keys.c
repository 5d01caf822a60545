/* rules_keys: the keys each object of a rules file may hold (see header). */
#include "rules_keys.h"

#include <stddef.h>

const char *const hfs_keys_top[] = { "version", "offline", "hub_hosts", "env",    "rules", "children", "log",
                                     "comment", "tokens",  "include",   "locked", "reach", NULL };
const char *const hfs_keys_env[] = { "set", "unset", NULL };
const char *const hfs_keys_log[] = { "format", "destination", "audit", NULL };
const char *const hfs_keys_tokens[] = { "format",   "deny",         "learn", "retry",   "state_file", "hosts",
                                        "validate", "validate_ttl", "xet",   "comment", NULL };
const char *const hfs_keys_reach[] = { "learn",      "resolve_ms", "connect_ms",        "handshake_ms", "first_byte_ms",
                                       "remember_s", "state_file", "offline_variables", "comment",      NULL };
const char *const hfs_keys_match[] = { "host",   "method", "port",   "scheme",  "path", "url",
                                       "header", "repo",   "cached", "program", NULL };
const char *const hfs_keys_window[] = { "first", "after", "every", "probability", "seed", NULL };
const char *const hfs_keys_rule[HFS_NRULE_KEYS + 1] = {
    "name", "match", "action", "comment", "preset", "window", NULL
};

const struct hfs_key_section hfs_key_sections[] = {
    { "top", hfs_keys_top },       { "env", hfs_keys_env },       { "log", hfs_keys_log },
    { "tokens", hfs_keys_tokens }, { "reach", hfs_keys_reach },   { "rule", hfs_keys_rule },
    { "match", hfs_keys_match },   { "window", hfs_keys_window }, { NULL, NULL },
};
