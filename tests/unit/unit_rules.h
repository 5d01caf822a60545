/* unit_rules.h: rules loaded from JSON text for a unit test (the load
 * error printed and the test failed when the text does not load). */
#ifndef HFS_UNIT_RULES_H
#define HFS_UNIT_RULES_H
#include "unit.h"

#include <string.h>

#include "rules.h"

/* The rules of json, named file in messages. */
static inline struct hfs_rules *rules_from_file(const char *file, const char *json)
{
    struct hfs_diag d;
    memset(&d, 0, sizeof d);
    struct hfs_rules *r = hfs_rules_load_buffer(file, json, strlen(json), &d);
    if (!r)
        print_message("load error: %s\n", d.first_error);
    assert_non_null(r);
    return r;
}

static inline struct hfs_rules *rules_from(const char *json) { return rules_from_file("t.json", json); }

#endif
