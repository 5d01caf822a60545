/* cjson_bind: how the core reaches cJSON. The launcher and the tests link
 * libcjson normally; the preload library opens its own private handle
 * (RTLD_LOCAL|RTLD_DEEPBIND) so a host program's copy of cJSON, static or
 * shared, never replaces ours and ours never replaces its. */
#ifndef HFS_CJSON_BIND_H
#define HFS_CJSON_BIND_H
#include <cjson/cJSON.h>

struct hfs_cjson {
    cJSON *(*ParseWithLengthOpts)(const char *value, size_t len, const char **end, cJSON_bool require_null);
    void (*Delete)(cJSON *item);
};

/* NULL when cJSON cannot be loaded (then rules cannot be read). */
const struct hfs_cjson *hfs_cjson(void);

#define HFS_JTYPE(item) ((item)->type & 0xFF)

#endif
