/* cjson_bind: the cJSON function table (see cjson_bind.h). */
#include "cjson_bind.h"

#include <pthread.h>
#include <stddef.h>

#ifdef HFS_CJSON_DLOPEN
#include <dlfcn.h>

static struct hfs_cjson table;
static int loaded = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    int flags = RTLD_NOW | RTLD_LOCAL;
#ifndef HFS_SANITIZE /* sanitizer runtimes refuse RTLD_DEEPBIND */
    flags |= RTLD_DEEPBIND;
#endif
    void *h = dlopen("libcjson.so.1", flags);
    if (!h)
        return;
    table.ParseWithLengthOpts = (cJSON * (*)(const char *, size_t, const char **, cJSON_bool))
        dlsym(h, "cJSON_ParseWithLengthOpts");
    table.Delete = (void (*)(cJSON *))dlsym(h, "cJSON_Delete");
    loaded = table.ParseWithLengthOpts && table.Delete;
}

const struct hfs_cjson *hfs_cjson(void)
{
    pthread_once(&once, load);
    return loaded == 1 ? &table : NULL;
}
#else
static const struct hfs_cjson table = { cJSON_ParseWithLengthOpts, cJSON_Delete };

const struct hfs_cjson *hfs_cjson(void)
{
    return &table;
}
#endif
