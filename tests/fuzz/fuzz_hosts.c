/* fuzz_hosts: libFuzzer target for the hosts(5) parser. The first line of
 * the input is the name, the rest the hosts text. A name found must occur
 * in the text; comments and a final newline must not change the answer;
 * the built-in local-name check must not crash on any name. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hosts.h"

static int occurs(const char *text, size_t len, const char *name, size_t nl)
{
    for (size_t i = 0; nl && i + nl <= len; i++)
        if (strncasecmp(text + i, name, nl) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const unsigned char *nl = memchr(data, '\n', size);
    size_t namelen = nl ? (size_t)(nl - data) : size;
    char *name = malloc(namelen + 1);
    if (!name)
        return 0;
    memcpy(name, data, namelen);
    name[namelen] = 0;
    const char *text = nl ? (const char *)nl + 1 : "";
    size_t len = nl ? size - namelen - 1 : 0;
    int found = hfs_hosts_lists(text, len, name);
    size_t cmp = strlen(name);
    if (cmp && name[cmp - 1] == '.')
        cmp--;
    if (found && !occurs(text, len, name, cmp))
        abort();
    /* "# comment\n" before the text, "\n" after it: same answer */
    char *t2 = malloc(len + 32);
    if (t2) {
        size_t o = 0;
        memcpy(t2, "# x y z\n", 8);
        o = 8;
        memcpy(t2 + o, text, len);
        o += len;
        t2[o++] = '\n';
        if (hfs_hosts_lists(t2, o, name) != found)
            abort();
        free(t2);
    }
    (void)hfs_name_is_builtin_local(name);
    free(name);
    return 0;
}
