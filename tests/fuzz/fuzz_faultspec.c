/* fuzz_faultspec: libFuzzer target for the --fault shortcut and the preset
 * answers. Every spec either fails with a message naming a column, or
 * gives a rule object the rules loader accepts or rejects with a message
 * (never a crash); the preset answers built from hostile repo and
 * revision text never carry CR/LF in a header and keep a JSON body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "faultspec.h"
#include "presets.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char spec[1100], out[4096], err[400];
    size_t n = size < sizeof spec - 1 ? size : sizeof spec - 1;
    memcpy(spec, data, n);
    spec[n] = 0;
    if (memchr(spec, '\n', n))
        *(char *)memchr(spec, '\n', n) = 0; /* one line, as --fault takes it */
    if (hfs_faultspec_rule(spec, 1, out, sizeof out, err, sizeof err) != 0) {
        if (strncmp(err, "col ", 4) != 0)
            abort();
    } else {
        struct hfs_rules *r = hfs_rules_safe_default();
        struct hfs_diag d = { 0 };
        if (!r)
            return 0;
        if (hfs_faults_apply(r, spec, &d) != 0 && (d.errors == 0 || !d.first_error[0]))
            abort();
        hfs_rules_free(r);
    }
    /* the presets with the input as repo and revision */
    struct hfs_preset_ctx c = { .type = "model" };
    size_t half = n / 2;
    memcpy(c.repo, spec, half < sizeof c.repo - 1 ? half : sizeof c.repo - 1);
    snprintf(c.rev, sizeof c.rev, "%s", spec + half);
    c.token = n & 1;
    for (int id = 1; id < HFS_PRESET_COUNT; id++) {
        struct hfs_answer a;
        hfs_preset_answer(id, &c, (long)n, &a);
        for (size_t i = 0; i < a.nheaders; i++)
            if (memchr(a.headers[i].value, '\r', a.headers[i].value_len) ||
                memchr(a.headers[i].value, '\n', a.headers[i].value_len))
                abort();
        if (a.body_len && a.body[0] != '{')
            abort();
    }
    return 0;
}
