/* cjson_bind: the cJSON function table (see cjson_bind.h). */
#include "cjson_bind.h"

static const struct hfs_cjson table = { cJSON_ParseWithLengthOpts,
                                        cJSON_Delete,
                                        cJSON_CreateObject,
                                        cJSON_CreateArray,
                                        cJSON_AddStringToObject,
                                        cJSON_AddNumberToObject,
                                        cJSON_AddBoolToObject,
                                        cJSON_AddItemToObject,
                                        cJSON_AddItemToArray,
                                        cJSON_PrintUnformatted,
                                        cJSON_free };

const struct hfs_cjson *hfs_cjson(void) { return &table; }
