/* test_jsonpos: unit tests of the position-aware JSON scanner
 * (shim/core/jsonpos.h): validation errors with their offsets and
 * line:col, path -> offset lookup, and JSON path rendering. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "jsonpos.h"

static void valid(const char *s)
{
    size_t off = 999;
    const char *msg = NULL;
    int rc = hfs_json_validate(s, strlen(s), &off, &msg);
    if (rc)
        print_message("%s: %s at %zu\n", s, msg, off);
    assert_int_equal(rc, 0);
}

/* Checks the message and the line:col of the error. */
static void invalid(const char *s, size_t n, const char *want, int line, int col)
{
    size_t off = 999;
    const char *msg = NULL;
    int l = 0, c = 0;
    assert_int_equal(hfs_json_validate(s, n, &off, &msg), -1);
    assert_non_null(msg);
    assert_string_equal(msg, want);
    assert_true(off <= n);
    hfs_json_linecol(s, n, off, &l, &c);
    assert_int_equal(l, line);
    assert_int_equal(c, col);
}

static void test_valid_documents(void **state)
{
    (void)state;
    valid("{}");
    valid("[]");
    valid(" \t\r\n{ \"a\" : [ 1 , -2.5e+3 , 0 , 0.0 , 1E9 , true , false , null , \"x\" ] } \n");
    valid("\"just a string\"");
    valid("-0");
    valid("0e0");
    valid("\xEF\xBB\xBF{\"bom\":1}");
    valid("{\"esc\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"}");
    valid("{\"utf8\":\"h\xC3\xA9llo \xF0\x9F\x98\x80\"}");
    valid("{\"a\":{\"b\":{\"c\":[[[{}]]]}}}");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    invalid("", 0, "empty file (expected a JSON object)", 1, 1);
    invalid("\xEF\xBB\xBF  ", 5, "empty file (expected a JSON object)", 1, 3);
    invalid("{", 1, "unexpected end of file inside an object (missing '}')", 1, 2);
    invalid("[1,", 3, "unexpected end of file (expected a value)", 1, 4);
    invalid("[1", 2, "unexpected end of file inside an array (missing ']')", 1, 3);
    invalid("{\"a\":1,}", 8, "trailing comma before '}'", 1, 8);
    invalid("[1,]", 4, "trailing comma before ']'", 1, 4);
    invalid("{\"a\" 1}", 7, "expected ':' after member name", 1, 6);
    invalid("{\"a\":1 \"b\":2}", 13, "expected ',' or '}' after a member", 1, 8);
    invalid("[1 2]", 5, "expected ',' or ']' after an element", 1, 4);
    invalid("{a:1}", 5, "expected a member name in double quotes", 1, 2);
    invalid("{\n  // note\n}", 13, "comments are not allowed in JSON", 2, 3);
    invalid("[1 /* x */]", 11, "comments are not allowed in JSON", 1, 4);
    invalid("{\"a\":1 // x\n}", 13, "comments are not allowed in JSON", 1, 8);
    invalid("/* c */ {}", 10, "comments are not allowed in JSON", 1, 1);
    invalid("['a']", 5, "strings need double quotes, not single quotes", 1, 2);
    invalid("[nul]", 5, "unexpected character (expected a value: string, number, object, array, true, false or null)",
            1, 2);
    invalid("[True]", 6, "unexpected character (expected a value: string, number, object, array, true, false or null)",
            1, 2);
    invalid("[+1]", 4, "unexpected character (expected a value: string, number, object, array, true, false or null)", 1,
            2);
    invalid("[\x01]", 3, "unexpected character (expected a value: string, number, object, array, true, false or null)",
            1, 2);
    invalid("\x01", 1, "unexpected character (expected a value: string, number, object, array, true, false or null)", 1,
            1);
    invalid("[01]", 4, "invalid number (leading zero)", 1, 2);
    invalid("[-]", 3, "invalid number", 1, 2);
    invalid("[.5]", 4, "unexpected character (expected a value: string, number, object, array, true, false or null)", 1,
            2);
    invalid("[1.]", 4, "invalid number (digits expected after '.')", 1, 2);
    invalid("[1e]", 4, "invalid number (digits expected in exponent)", 1, 2);
    invalid("[\"abc", 5, "unterminated string", 1, 2);
    invalid("[\"a\\", 4, "unterminated string", 1, 2);
    invalid("[\"a\nb\"]", 7, "unterminated string (newline inside a string)", 1, 4);
    invalid("[\"a\x01\"]", 5, "control character inside a string (escape it)", 1, 4);
    invalid("[\"\\x\"]", 6, "invalid escape in string", 1, 3);
    invalid("[\"\\u00G0\"]", 10, "invalid \\u escape (needs four hex digits)", 1, 3);
    invalid("[\"\\u00\"]", 8, "invalid \\u escape (needs four hex digits)", 1, 3);
    invalid("[\"\\uD800\"]", 10, "invalid \\u escape (unpaired UTF-16 surrogate)", 1, 3);
    invalid("[\"\\uD800\\u0041\"]", 16, "invalid \\u escape (unpaired UTF-16 surrogate)", 1, 3);
    invalid("[\"\\uDFFF\"]", 10, "invalid \\u escape (unpaired UTF-16 surrogate)", 1, 3);
    invalid("{} {}", 5, "unexpected text after the end of the JSON value", 1, 4);
    invalid("{}\0", 3, "unexpected text after the end of the JSON value", 1, 3);
    invalid("{\"a\":\"b\0c\"}", 11, "control character inside a string (escape it)", 1, 8);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    char s[200];
    /* 65 nested arrays are allowed, the 66th is one too many */
    memset(s, '[', 65);
    memset(s + 65, ']', 65);
    s[130] = 0;
    valid(s);
    memset(s, '[', 66);
    memset(s + 66, ']', 66);
    invalid(s, 132, "nested too deeply", 1, 66);
    /* deep input is rejected without walking it all */
    memset(s, '[', sizeof s);
    invalid(s, sizeof s, "nested too deeply", 1, 66);
}

static void test_linecol(void **state)
{
    (void)state;
    const char *s = "ab\ncd\n\xC3\xA9x\n";
    int l, c;
    hfs_json_linecol(s, strlen(s), 0, &l, &c);
    assert_int_equal(l, 1);
    assert_int_equal(c, 1);
    hfs_json_linecol(s, strlen(s), 2, &l, &c);
    assert_int_equal(l, 1);
    assert_int_equal(c, 3);
    hfs_json_linecol(s, strlen(s), 3, &l, &c);
    assert_int_equal(l, 2);
    assert_int_equal(c, 1);
    hfs_json_linecol(s, strlen(s), 8, &l, &c); /* 'x' after a 2-byte character */
    assert_int_equal(l, 3);
    assert_int_equal(c, 2);
    hfs_json_linecol(s, strlen(s), 1000, &l, &c); /* clamped to the end */
    assert_int_equal(l, 4);
    assert_int_equal(c, 1);
    /* a byte order mark takes no column */
    hfs_json_linecol("\xEF\xBB\xBF{}", 5, 4, &l, &c);
    assert_int_equal(l, 1);
    assert_int_equal(c, 2);
}

static void render(const struct hfs_jpath *p, size_t outlen, const char *want)
{
    char out[256];
    memset(out, 'z', sizeof out);
    hfs_jpath_render(p, out, outlen);
    assert_string_equal(out, want);
}

static void test_jpath_render(void **state)
{
    (void)state;
    struct hfs_jpath p = { 0 };
    render(&p, 100, "(top level)");
    hfs_jpath_key(&p, "rules");
    hfs_jpath_index(&p, 3);
    hfs_jpath_key(&p, "match");
    hfs_jpath_key(&p, "path");
    render(&p, 100, "rules[3].match.path");
    render(&p, 10, "rules[3].");
    hfs_jpath_pop(&p);
    hfs_jpath_pop(&p);
    hfs_jpath_pop(&p);
    hfs_jpath_pop(&p);
    hfs_jpath_pop(&p); /* popping the root is harmless */
    assert_int_equal(p.depth, 0);
    hfs_jpath_key(&p, "env");
    hfs_jpath_key(&p, "set");
    hfs_jpath_key(&p, "A.B");
    render(&p, 100, "env.set[\"A.B\"]");
    hfs_jpath_pop(&p);
    hfs_jpath_key(&p, "");
    render(&p, 100, "env.set[\"\"]");
    p.depth = 0;
    hfs_jpath_index(&p, 0);
    hfs_jpath_key(&p, "a-b_C9");
    render(&p, 100, "[0].a-b_C9");
    /* deeper than HFS_JPATH_MAX: depth still counts, render stops at the max */
    p.depth = 0;
    for (int i = 0; i < HFS_JPATH_MAX + 3; i++)
        hfs_jpath_index(&p, i);
    assert_int_equal(p.depth, HFS_JPATH_MAX + 3);
    render(&p, 200, "[0][1][2][3][4][5][6][7][8][9][10][11][12][13][14][15]");
    for (int i = 0; i < 3; i++)
        hfs_jpath_pop(&p);
    render(&p, 200, "[0][1][2][3][4][5][6][7][8][9][10][11][12][13][14][15]");
    char out[4] = "abc";
    hfs_jpath_render(&p, out, 0); /* nothing written */
    assert_string_equal(out, "abc");
}

static size_t locate(const char *s, struct hfs_jpath *p, int want_key)
{
    size_t off = 12345;
    assert_int_equal(hfs_json_locate(s, strlen(s), p, want_key, &off), 0);
    return off;
}

static void test_locate(void **state)
{
    (void)state;
    const char *s = "{ \"version\": 1,\n  \"rules\": [ {\"match\": {\"port\": 80}}, {\"name\" : \"b\"} ],\n"
                    "  \"env\": {\"set\": {\"A\\u0042\": \"1\", \"\\u00e9t\\u00e9\": \"2\"}} }";
    struct hfs_jpath p = { 0 };
    assert_int_equal(locate(s, &p, 0), 0);
    hfs_jpath_key(&p, "version");
    assert_int_equal(locate(s, &p, 0), 13);
    assert_int_equal(locate(s, &p, 1), 2);
    hfs_jpath_pop(&p);
    hfs_jpath_key(&p, "rules");
    hfs_jpath_index(&p, 1);
    assert_int_equal(locate(s, &p, 0), (size_t)(strstr(s, "{\"name\"") - s));
    hfs_jpath_key(&p, "name");
    assert_int_equal(locate(s, &p, 0), (size_t)(strstr(s, "\"b\"") - s));
    assert_int_equal(locate(s, &p, 1), (size_t)(strstr(s, "\"name\"") - s));
    p.depth = 0;
    hfs_jpath_key(&p, "rules");
    hfs_jpath_index(&p, 0);
    hfs_jpath_key(&p, "match");
    hfs_jpath_key(&p, "port");
    assert_int_equal(locate(s, &p, 0), (size_t)(strstr(s, "80") - s));
    /* keys are compared decoded, as cJSON decodes them */
    p.depth = 0;
    hfs_jpath_key(&p, "env");
    hfs_jpath_key(&p, "set");
    hfs_jpath_key(&p, "AB");
    assert_int_equal(locate(s, &p, 0), (size_t)(strstr(s, "\"1\"") - s));
    hfs_jpath_pop(&p);
    hfs_jpath_key(&p, "\xC3\xA9t\xC3\xA9");
    assert_int_equal(locate(s, &p, 0), (size_t)(strstr(s, "\"2\"") - s));
}

static void test_locate_missing_paths(void **state)
{
    (void)state;
    const char *s = "{\"a\": [1, 2], \"b\": {}}";
    struct hfs_jpath p = { 0 };
    size_t off = 77;
    hfs_jpath_key(&p, "c");
    assert_int_equal(hfs_json_locate(s, strlen(s), &p, 0, &off), -1);
    p.depth = 0;
    hfs_jpath_key(&p, "a");
    hfs_jpath_index(&p, 2);
    assert_int_equal(hfs_json_locate(s, strlen(s), &p, 0, &off), -1);
    p.depth = 0;
    hfs_jpath_key(&p, "a");
    hfs_jpath_key(&p, "x"); /* a key in an array */
    assert_int_equal(hfs_json_locate(s, strlen(s), &p, 0, &off), -1);
    p.depth = 0;
    hfs_jpath_index(&p, 0); /* an index in an object */
    assert_int_equal(hfs_json_locate(s, strlen(s), &p, 0, &off), -1);
    p.depth = 0;
    hfs_jpath_key(&p, "b");
    hfs_jpath_key(&p, "z");
    assert_int_equal(hfs_json_locate(s, strlen(s), &p, 0, &off), -1);
    p.depth = HFS_JPATH_MAX + 1; /* segments beyond the max were not recorded */
    assert_int_equal(hfs_json_locate(s, strlen(s), &p, 0, &off), -1);
    assert_int_equal(off, 77);
}

static void test_locate_duplicate_key_occurrence(void **state)
{
    (void)state;
    const char *s = "{\"k\":1,\"x\":0,\"k\":2,\"k\":3}";
    struct hfs_jpath p = { 0 };
    hfs_jpath_key(&p, "k");
    assert_int_equal(locate(s, &p, 0), 5);
    p.seg[0].index = 1; /* the second "k" */
    assert_int_equal(locate(s, &p, 0), 17);
    assert_int_equal(locate(s, &p, 1), 13);
    p.seg[0].index = 2;
    assert_int_equal(locate(s, &p, 0), 23);
    size_t off;
    p.seg[0].index = 3;
    assert_int_equal(hfs_json_locate(s, strlen(s), &p, 0, &off), -1);
}

static void test_locate_long_key_and_nul_escape(void **state)
{
    (void)state;
    char s[1000], key[400];
    memset(key, 'k', 399);
    key[399] = 0;
    /* a 398-character prefix of the key first, then the key itself */
    snprintf(s, sizeof s, "{\"%.398s\": 1, \"%s\": 2}", key, key);
    struct hfs_jpath p = { 0 };
    hfs_jpath_key(&p, key);
    assert_int_equal(locate(s, &p, 0), 809);
    /* cJSON would stop a string at a decoded NUL ("a\u0000b" read as the
     * key "a"): the validator refuses it instead */
    invalid("{\"a\\u0000b\": 5}", 15, "\\u0000 inside a string (a NUL would cut the string short)", 1, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_linecol),
        cmocka_unit_test(test_jpath_render),
        cmocka_unit_test(test_locate),
        cmocka_unit_test(test_locate_missing_paths),
        cmocka_unit_test(test_locate_duplicate_key_occurrence),
        cmocka_unit_test(test_locate_long_key_and_nul_escape),
    };
    return cmocka_run_group_tests_name("jsonpos", tests, NULL, NULL);
}
