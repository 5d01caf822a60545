/* fuzz_jsonpos: libFuzzer target for the position-aware JSON scanner.
 * Validates the input; text it accepts must parse with cJSON (so rules
 * errors are never cJSON's vague ones); error offsets and located offsets
 * must lie inside the text; paths built from the input are located and
 * rendered. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *s = (const char *)data;
    size_t off = 0;
    const char *msg = NULL;
    int line, col;
    if (hfs_json_validate(s, size, &off, &msg) != 0) {
        if (!msg || off > size)
            abort();
        hfs_json_linecol(s, size, off, &line, &col);
        if (line < 1 || col < 1)
            abort();
        return 0;
    }
    /* as the rules loader does: the byte order mark is not given to cJSON */
    size_t bom = size >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    cJSON *root = cJSON_ParseWithLengthOpts(s + bom, size - bom, NULL, 0);
    if (!root)
        abort();
    /* Walk the tree along the first children and locate each step; a
     * located value must start with the right kind of character. */
    struct hfs_jpath p = { 0 };
    const cJSON *node = root;
    for (int depth = 0; depth < HFS_JPATH_MAX && node; depth++) {
        size_t at;
        if (hfs_json_locate(s, size, &p, 0, &at) != 0)
            break; /* keys cJSON and the scanner see differently, e.g. after a NUL escape */
        if (at >= size)
            abort();
        char c = s[at];
        int t = node->type & 0xFF;
        if ((t == cJSON_Object && c != '{') || (t == cJSON_Array && c != '[') || (t == cJSON_String && c != '"') ||
            (t == cJSON_Number && c != '-' && (c < '0' || c > '9')) || (t == cJSON_True && c != 't') ||
            (t == cJSON_False && c != 'f') || (t == cJSON_NULL && c != 'n'))
            abort();
        hfs_json_linecol(s, size, at, &line, &col);
        const cJSON *child = node->child;
        if (!child)
            break;
        /* pick a child from the input's last byte so other children get visited too */
        int pick = size ? data[size - 1] % 4 : 0, idx = 0;
        while (pick-- > 0 && child->next)
            child = child->next, idx++;
        if (t == cJSON_Object) {
            int nth = 0; /* a duplicated key: which copy */
            for (const cJSON *o = node->child; o != child; o = o->next)
                nth += strcmp(o->string, child->string) == 0;
            hfs_jpath_key(&p, child->string);
            p.seg[p.depth - 1].index = nth;
            size_t kat;
            if (hfs_json_locate(s, size, &p, 1, &kat) == 0 && s[kat] != '"')
                abort();
        } else {
            hfs_jpath_index(&p, idx);
        }
        char out[64];
        hfs_jpath_render(&p, out, sizeof out);
        if (strlen(out) >= sizeof out)
            abort();
        node = child;
    }
    cJSON_Delete(root);
    return 0;
}
