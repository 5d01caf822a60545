/* cjson_bind: how the core reaches cJSON: one table of the functions it
 * uses. cJSON (Debian's source, .ci/cjson-src.sh) is compiled into the
 * library, the launcher and the tests with hidden symbols, so a host
 * program's copy of cJSON, static or shared, never replaces ours and ours
 * never replaces its, and nothing is opened at start-up
 * (docs/portable-build.md). */
#ifndef HFS_CJSON_BIND_H
#define HFS_CJSON_BIND_H
#include <cjson/cJSON.h>

struct hfs_cjson {
    cJSON *(*ParseWithLengthOpts)(const char *value, size_t len, const char **end, cJSON_bool require_null);
    void (*Delete)(cJSON *item);
    /* building documents (answers synthesized from the Hub cache) */
    cJSON *(*CreateObject)(void);
    cJSON *(*CreateArray)(void);
    cJSON *(*AddStringToObject)(cJSON *object, const char *name, const char *string);
    cJSON *(*AddNumberToObject)(cJSON *object, const char *name, double number);
    cJSON *(*AddBoolToObject)(cJSON *object, const char *name, cJSON_bool boolean);
    cJSON_bool (*AddItemToObject)(cJSON *object, const char *name, cJSON *item);
    cJSON_bool (*AddItemToArray)(cJSON *array, cJSON *item);
    char *(*PrintUnformatted)(const cJSON *item);
    void (*free_)(void *p);
};

/* Never NULL since cJSON is linked in (callers still check). */
const struct hfs_cjson *hfs_cjson(void);

#define HFS_JTYPE(item) ((item)->type & 0xFF)

#endif
