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
    table.CreateObject = (cJSON * (*)(void)) dlsym(h, "cJSON_CreateObject");
    table.CreateArray = (cJSON * (*)(void)) dlsym(h, "cJSON_CreateArray");
    table.AddStringToObject = (cJSON * (*)(cJSON *, const char *, const char *)) dlsym(h, "cJSON_AddStringToObject");
    table.AddNumberToObject = (cJSON * (*)(cJSON *, const char *, double)) dlsym(h, "cJSON_AddNumberToObject");
    table.AddBoolToObject = (cJSON * (*)(cJSON *, const char *, cJSON_bool)) dlsym(h, "cJSON_AddBoolToObject");
    table.AddItemToObject = (cJSON_bool(*)(cJSON *, const char *, cJSON *))dlsym(h, "cJSON_AddItemToObject");
    table.AddItemToArray = (cJSON_bool(*)(cJSON *, cJSON *))dlsym(h, "cJSON_AddItemToArray");
    table.PrintUnformatted = (char *(*)(const cJSON *))dlsym(h, "cJSON_PrintUnformatted");
    table.free_ = (void (*)(void *))dlsym(h, "cJSON_free");
    loaded = table.ParseWithLengthOpts && table.Delete && table.CreateObject && table.CreateArray &&
             table.AddStringToObject && table.AddNumberToObject && table.AddBoolToObject && table.AddItemToObject &&
             table.AddItemToArray && table.PrintUnformatted && table.free_;
}

const struct hfs_cjson *hfs_cjson(void)
{
    pthread_once(&once, load);
    return loaded == 1 ? &table : NULL;
}
#else
static const struct hfs_cjson table = { cJSON_ParseWithLengthOpts, cJSON_Delete, cJSON_CreateObject, cJSON_CreateArray,
                                        cJSON_AddStringToObject, cJSON_AddNumberToObject, cJSON_AddBoolToObject,
                                        cJSON_AddItemToObject, cJSON_AddItemToArray, cJSON_PrintUnformatted,
                                        cJSON_free };

const struct hfs_cjson *hfs_cjson(void)
{
    return &table;
}
#endif
