/* hosts: hosts(5) lookups and local-name rules (see header). */
#include "hosts.h"

#include <string.h>
#include <strings.h>

#include "request.h"

int hfs_hosts_lists(const char *text, size_t len, const char *name)
{
    size_t nl = strlen(name), i = 0;
    if (nl && name[nl - 1] == '.')
        nl--;
    if (nl == 0)
        return 0;
    while (i < len) {
        size_t eol = i;
        int field = 0;
        while (eol < len && text[eol] != '\n')
            eol++;
        for (size_t p = i; p < eol;) {
            size_t s;
            while (p < eol && (text[p] == ' ' || text[p] == '\t' || text[p] == '\r'))
                p++;
            if (p >= eol || text[p] == '#')
                break;
            s = p;
            while (p < eol && text[p] != ' ' && text[p] != '\t' && text[p] != '\r' && text[p] != '#')
                p++;
            if (field++ > 0 && p - s == nl && strncasecmp(text + s, name, nl) == 0)
                return 1; /* field 0 is the address */
        }
        i = eol + 1;
    }
    return 0;
}

int hfs_name_is_builtin_local(const char *name)
{
    struct hfs_addr a;
    size_t l = strlen(name);
    if (l && name[l - 1] == '.')
        l--;
    if (hfs_addr_parse(name, &a) == 0)
        return 1;
    if (l == 9 && strncasecmp(name, "localhost", 9) == 0)
        return 1;
    return l > 10 && strncasecmp(name + l - 10, ".localhost", 10) == 0;
}
