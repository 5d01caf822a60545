/* cmd_check: `hfshim check FILE...`: validate rules files and summarise. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "launcher.h"

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
        if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
            continue;
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
        fprintf(stderr, "usage: hfshim check [-q] FILE...\n");
        return 2;
    }
    return bad ? 2 : 0;
}
