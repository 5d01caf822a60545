/* cmd_check: `hfshim check FILE...`: validate rules files and summarise;
 * `hfshim check --actions`: the actions and their parameters, from the
 * table the loader reads them with (actions.c); `hfshim check --keys`: the
 * keys of each object and the presets, from the loader's own lists
 * (rules_keys.c, presets.c). The reference hfshim-rules(5) is checked
 * against both by tests/test_docs_reference.py. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../core/actions.h"
#include "../core/presets.h"
#include "../core/rules_keys.h"
#include "launcher.h"

static void print_actions(void)
{
    printf("actions (hfshim-rules(5), ACTIONS): a modifier applies and the next rules are tried; the others end the "
           "search\n");
    for (size_t i = 0; i < hfs_nactions; i++) {
        const struct hfs_action *a = &hfs_actions[i];
        printf("  %s%s: %s\n", a->name, a->modifier ? " (modifier)" : "", a->help);
        for (const struct hfs_param *p = a->params; p->key; p++)
            printf("      %s%s: %s%s%s%s: %s\n", p->key, p->need ? " (required)" : "", p->value,
                   p->deflt ? " (default " : "", p->deflt ? p->deflt : "", p->deflt ? ")" : "", p->help);
    }
}

static void print_keys(void)
{
    printf("keys each object of a rules file may hold (hfshim-rules(5)); a rule also takes its action's "
           "parameters (hfshim check --actions)\n");
    for (const struct hfs_key_section *s = hfs_key_sections; s->name; s++) {
        printf("  %s:", s->name);
        for (const char *const *k = s->keys; *k; k++)
            printf(" %s", *k);
        printf("\n");
    }
    printf("  preset:");
    for (int i = 1; hfs_preset_get(i); i++)
        printf(" %s", hfs_preset_get(i)->name);
    printf("\n");
}

static void to_stderr(void *ctx, int is_error, const char *msg)
{
    (void)ctx;
    (void)is_error;
    fprintf(stderr, "%s\n", msg);
}

int hfs_cmd_check(int argc, char **argv)
{
    int bad = 0, quiet = 0, files = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--actions") == 0 && argc == 1) {
            print_actions();
            return 0;
        }
        if (strcmp(argv[i], "--keys") == 0 && argc == 1) {
            print_keys();
            return 0;
        }
        if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) { /* a file of that name: ./-name */
            fprintf(stderr, "hfshim check: unknown option %s\n", argv[i]);
            hfs_usage("check");
            return 2;
        }
        struct hfs_diag d = { to_stderr, NULL, 0, 0, { 0 } };
        struct hfs_rules *r = hfs_rules_load_file(argv[i], &d);
        files++;
        if (!r) {
            fprintf(stderr, "%s: %d error%s\n", argv[i], d.errors, d.errors == 1 ? "" : "s");
            bad = 1;
            continue;
        }
        if (!quiet) {
            printf("%s: OK (%zu rule%s%s)\n", argv[i], r->nrules, r->nrules == 1 ? "" : "s",
                   d.warnings ? ", with warnings above" : "");
            hfs_print_summary(r);
        }
        hfs_rules_free(r);
    }
    if (files == 0) {
        hfs_usage("check");
        return 2;
    }
    return bad ? 2 : 0;
}
