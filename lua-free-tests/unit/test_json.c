/*
 * Unit tests: kefu_json_parse, kefu_json_get and kefu_buf_*.
 */

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "kefu_json.h"
#include "tap.h"


typedef struct {
    kefu_arena_t   arena;
    size_t         left;        /* allocations that still succeed */
} test_failing_t;


static kefu_arena_t              test_arena;
static char                      test_err[128];
static const kefu_json_limits_t  test_lim = { 32, 1000, 1024, 10000 };


static kefu_json_t *
test_parse_n(const char *s, size_t len, const kefu_json_limits_t *limits)
{
    return kefu_json_parse(&test_arena.allocator, (const unsigned char *) s,
                           len, limits, test_err, sizeof(test_err));
}


static kefu_json_t *
test_parse(const char *s)
{
    return test_parse_n(s, strlen(s), &test_lim);
}


/* 1 if parsing fails and the reason starts with want */
static int
test_rejects(const char *s, size_t len, const char *want)
{
    kefu_json_t  *j;

    j = test_parse_n(s, len, &test_lim);

    if (j != NULL) {
        printf("#   accepted: %.*s\n", (int) len, s);
        return 0;
    }

    if (strncmp(test_err, want, strlen(want)) != 0) {
        printf("#   error '%s', want '%s'\n", test_err, want);
        return 0;
    }

    return 1;
}


static void *
test_failing_alloc(void *ctx, size_t size)
{
    test_failing_t  *f;

    f = ctx;

    if (f->left == 0) {
        return NULL;
    }

    f->left--;

    return f->arena.allocator.alloc(&f->arena, size);
}


static void
test_types(void)
{
    kefu_json_t  *j, *v;

    j = test_parse("null");
    ok(j != NULL && j->type == KEFU_JSON_NULL, "null");

    j = test_parse(" true ");
    ok(j != NULL && j->type == KEFU_JSON_BOOL && j->boolean == 1, "true");

    j = test_parse("false");
    ok(j != NULL && j->type == KEFU_JSON_BOOL && j->boolean == 0, "false");

    j = test_parse("\"\"");
    ok(j != NULL && j->type == KEFU_JSON_STRING && j->str.len == 0
       && j->str.data != NULL && j->str.data[0] == '\0', "empty string");

    j = test_parse("\"\xe4\xbd\xa0\xe5\xa5\xbd\"");
    ok(j != NULL && j->type == KEFU_JSON_STRING && j->str.len == 6,
       "Chinese string");
    is_str(j ? (char *) j->str.data : NULL, "\xe4\xbd\xa0\xe5\xa5\xbd",
           "Chinese string bytes");

    j = test_parse("\"a\\n\\t\\\"\\\\\\/\\u4e2d\\ud83d\\ude00\"");
    is_str(j ? (char *) j->str.data : NULL,
           "a\n\t\"\\/\xe4\xb8\xad\xf0\x9f\x98\x80", "escapes decoded");

    j = test_parse("[]");
    ok(j != NULL && j->type == KEFU_JSON_ARRAY && j->n == 0, "empty array");

    j = test_parse("{}");
    ok(j != NULL && j->type == KEFU_JSON_OBJECT && j->n == 0,
       "empty object");
    ok(kefu_json_get(j, "x") == NULL, "get on empty object");

    j = test_parse("{\"a\": 1, \"b\": [true, null, \"x\", {\"c\": []}],"
                   " \"\xe9\x97\xae\": \"\xe7\xad\x94\"}");
    ok(j != NULL && j->type == KEFU_JSON_OBJECT && j->n == 3,
       "nested object");

    if (j == NULL) {
        return;
    }

    is_str(j->keys[0].data, "a", "key order 0");
    is_str(j->keys[1].data, "b", "key order 1");
    v = kefu_json_get(j, "b");
    ok(v != NULL && v->type == KEFU_JSON_ARRAY && v->n == 4, "get array");
    ok(v != NULL && v->items[0]->type == KEFU_JSON_BOOL
       && v->items[1]->type == KEFU_JSON_NULL
       && v->items[2]->type == KEFU_JSON_STRING
       && v->items[3]->type == KEFU_JSON_OBJECT
       && v->items[3]->n == 1
       && kefu_json_get(v->items[3], "c")->type == KEFU_JSON_ARRAY,
       "array items");
    v = kefu_json_get(j, "\xe9\x97\xae");
    is_str(v ? (char *) v->str.data : NULL, "\xe7\xad\x94", "Chinese key");
    ok(kefu_json_get(j, "zz") == NULL, "missing key");
    ok(kefu_json_get(v, "a") == NULL, "get on non-object");
    ok(kefu_json_get(NULL, "a") == NULL, "get on NULL");

    j = test_parse("{\"\": 1}");
    ok(j != NULL && kefu_json_get(j, "") != NULL, "empty key");
}


static void
test_numbers(void)
{
    kefu_json_t  *j;

    j = test_parse("0");
    ok(j != NULL && j->is_int && j->integer == 0, "0");

    j = test_parse("-0");
    ok(j != NULL && j->is_int && j->integer == 0, "-0 is int");

    j = test_parse("1700000000");
    ok(j != NULL && j->is_int && j->integer == 1700000000
       && j->number == 1700000000.0, "int with number");

    j = test_parse("9223372036854775807");
    ok(j != NULL && j->is_int && j->integer == INT64_MAX, "int64 max");

    j = test_parse("-9223372036854775808");
    ok(j != NULL && j->is_int && j->integer == INT64_MIN, "int64 min");

    j = test_parse("9223372036854775808");
    ok(j != NULL && !j->is_int && j->number > 9.2e18, "int64 max + 1");

    j = test_parse("-9223372036854775809");
    ok(j != NULL && !j->is_int && j->number < -9.2e18, "int64 min - 1");

    j = test_parse("123456789012345678901234567890");
    ok(j != NULL && !j->is_int && j->number > 1.2e29, "huge integer");

    j = test_parse("1.5");
    ok(j != NULL && !j->is_int && j->number == 1.5, "1.5");

    j = test_parse("1.0");
    ok(j != NULL && !j->is_int && j->number == 1.0, "1.0 is double");

    j = test_parse("-2E3");
    ok(j != NULL && !j->is_int && j->number == -2000.0, "-2E3");

    j = test_parse("1e-400");
    ok(j != NULL && !j->is_int && j->number == 0.0, "underflow is 0");

    j = test_parse("[0.1,2,3e1]");
    ok(j != NULL && j->n == 3 && !j->items[0]->is_int
       && j->items[1]->is_int && j->items[1]->integer == 2
       && !j->items[2]->is_int && j->items[2]->number == 30.0,
       "numbers in array");

    ok(test_rejects("1e999", 5, "number out of range"), "1e999 rejected");
    ok(test_rejects("[-1e400]", 8, "number out of range"),
       "-1e400 rejected");
    ok(test_rejects("01", 2, "invalid JSON at byte 2"), "leading zero");
    ok(test_rejects("1.", 2, "invalid JSON at byte"), "1.");
    ok(test_rejects("[.5]", 4, "invalid JSON"), ".5");
    ok(test_rejects("[+1]", 4, "invalid JSON"), "+1");
    ok(test_rejects("NaN", 3, "invalid JSON"), "NaN");
    ok(test_rejects("[Infinity]", 10, "invalid JSON"), "Infinity");
    ok(test_rejects("0x10", 4, "invalid JSON"), "hex");
}


static void
test_rejections(void)
{
    static const char  nul[] = "{\"a\": \"x\0y\"}";
    static const char  nul2[] = "[1]\0";

    ok(test_rejects("", 0, "empty JSON"), "empty input");
    ok(test_rejects("   \n", 4, "invalid JSON at byte"), "whitespace only");
    ok(test_rejects("{} x", 4, "invalid JSON at byte"), "trailing garbage");
    ok(test_rejects("1 2", 3, "invalid JSON at byte 3"), "two values");
    ok(test_rejects("{}{}", 4, "invalid JSON at byte"), "two objects");
    ok(test_rejects("/* c */ 1", 9, "invalid JSON at byte 1"),
       "block comment");
    ok(test_rejects("[1 // c\n]", 9, "invalid JSON at byte"),
       "line comment");
    ok(test_rejects(nul, sizeof(nul) - 1, "NUL byte at byte 9"),
       "NUL in input");
    ok(test_rejects(nul2, sizeof(nul2) - 1, "NUL byte at byte 4"),
       "NUL after value");
    ok(test_rejects("[\"\\u0000\"]", 10, "NUL in string"), "\\u0000");
    ok(test_rejects("{\"x\": 1, \"x\": 2}", 16, "duplicate key \"x\""),
       "duplicate key");
    ok(test_rejects("{\"a\":{\"k\":1,\"k\":1}}", 19, "duplicate key \"k\""),
       "duplicate key nested");
    ok(test_rejects("[1,]", 4, "invalid JSON"), "trailing comma");
    ok(test_rejects("{'a': 1}", 8, "invalid JSON"), "single quotes");
    ok(test_rejects("{a: 1}", 6, "invalid JSON"), "bare key");
    ok(test_rejects("{\"a\" 1}", 7, "invalid JSON"), "missing colon");
    ok(test_rejects("[1, 2", 5, "invalid JSON at byte"), "unterminated array");
    ok(test_rejects("\"abc", 4, "invalid JSON at byte"), "unterminated string");
    ok(test_rejects("\"a\tb\"", 5, "invalid JSON"), "raw tab in string");
    ok(test_rejects("\"\\x41\"", 6, "invalid JSON"), "bad escape");
    ok(test_rejects("\"\\u12g4\"", 8, "invalid JSON"), "bad \\u escape");
    ok(test_rejects("tru", 3, "invalid JSON at byte"), "truncated literal");
    ok(test_rejects("nul", 3, "invalid JSON at byte"), "truncated null");
    ok(test_rejects("]", 1, "invalid JSON at byte 1"), "lone bracket");
    ok(test_rejects("\xef\xbb\xbf{}", 5, "invalid JSON at byte 1"), "BOM");
}


static void
test_utf8(void)
{
    kefu_json_t  *j;

    /* each of these passes yajl's own check: ours must catch it */
    ok(test_rejects("\"\xc0\x80\"", 4, "invalid UTF-8 at byte 2"),
       "overlong NUL");
    ok(test_rejects("\"\xc1\xbf\"", 4, "invalid UTF-8"), "overlong 2-byte");
    ok(test_rejects("\"\xe0\x80\xaf\"", 5, "invalid UTF-8"),
       "overlong 3-byte");
    ok(test_rejects("\"\xf0\x80\x80\xaf\"", 6, "invalid UTF-8"),
       "overlong 4-byte");
    ok(test_rejects("\"\xed\xa0\x80\"", 5, "invalid UTF-8"),
       "encoded surrogate");
    ok(test_rejects("\"\xf4\x90\x80\x80\"", 6, "invalid UTF-8"),
       "above U+10FFFF");
    ok(test_rejects("\"\xf5\x80\x80\x80\"", 6, "invalid UTF-8"), "F5 lead");
    ok(test_rejects("{\"\xe4\xb8\": 1}", 9, "invalid UTF-8"),
       "truncated in key");
    ok(test_rejects("\"\x80\"", 3, "invalid UTF-8"), "lone continuation");
    ok(test_rejects("\"\xff\"", 3, "invalid UTF-8"), "FF byte");
    ok(test_rejects("\"\xe4\xb8\"", 4, "invalid UTF-8"), "truncated 3-byte");
    ok(test_rejects("\"\xe4\"", 3, "invalid UTF-8"), "truncated at end");
    ok(test_rejects("\"\\udc00\"", 8, "invalid UTF-8"), "lone low surrogate");
    ok(test_rejects("\"\\ud800\"", 8, "invalid UTF-8"),
       "lone high surrogate");
    ok(test_rejects("\"\\ud800\\u0041\"", 14, "invalid UTF-8"),
       "high surrogate + non-surrogate");
    ok(test_rejects("\"\\ud800\\ud800\"", 14, "invalid UTF-8"),
       "two high surrogates");

    j = test_parse("\"\xf4\x8f\xbf\xbf \xef\xbf\xbf \xed\x9f\xbf\"");
    ok(j != NULL, "U+10FFFF, U+FFFF, U+D7FF accepted");

    j = test_parse("\"\\uDBFF\\uDFFF\"");
    is_str(j ? (char *) j->str.data : NULL, "\xf4\x8f\xbf\xbf",
           "max surrogate pair");
}


static void
test_limits(void)
{
    kefu_json_limits_t  l;
    char                buf[64];

    l.max_depth = 3;
    l.max_members = 3;
    l.max_string = 6;
    l.max_nodes = 100;

    ok(test_parse_n("[[[1]]]", 7, &l) != NULL, "depth at limit");
    ok(test_parse_n("[[[[1]]]]", 9, &l) == NULL
       && strcmp(test_err, "nesting too deep") == 0, "depth over limit");
    ok(test_parse_n("{\"a\":{\"b\":{\"c\":{}}}}", 20, &l) == NULL
       && strcmp(test_err, "nesting too deep") == 0, "object depth over");
    ok(test_parse_n("\"abc\"", 5, &l) != NULL, "scalar at depth 0");

    l.max_depth = 0;
    ok(test_parse_n("1", 1, &l) != NULL, "max_depth 0 allows scalars");
    ok(test_parse_n("[]", 2, &l) == NULL, "max_depth 0 rejects arrays");
    l.max_depth = 3;

    ok(test_parse_n("[1,2,3]", 7, &l) != NULL, "members at limit");
    ok(test_parse_n("[1,2,3,4]", 9, &l) == NULL
       && strcmp(test_err, "too many members") == 0, "members over limit");
    ok(test_parse_n("{\"a\":1,\"b\":2,\"c\":3}", 19, &l) != NULL,
       "object members at limit");
    ok(test_parse_n("{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", 25, &l) == NULL
       && strcmp(test_err, "too many members") == 0,
       "object members over limit");

    ok(test_parse_n("\"abcdef\"", 8, &l) != NULL, "string at limit");
    ok(test_parse_n("\"abcdefg\"", 9, &l) == NULL
       && strcmp(test_err, "string too long") == 0, "string over limit");
    ok(test_parse_n("\"\xe4\xbd\xa0\xe5\xa5\xbd\"", 8, &l) != NULL,
       "6-byte Chinese at limit");
    ok(test_parse_n("\"\xe4\xbd\xa0\xe5\xa5\xbd!\"", 9, &l) == NULL,
       "limit counts bytes");
    ok(test_parse_n("\"\\u4e2d\\u4e2d\"", 14, &l) != NULL,
       "limit counts decoded bytes");
    ok(test_parse_n("{\"abcdef\":1}", 12, &l) != NULL, "key at limit");
    ok(test_parse_n("{\"abcdefg\":1}", 13, &l) == NULL
       && strcmp(test_err, "key too long") == 0, "key over limit");

    l.max_nodes = 4;
    ok(test_parse_n("[1,2,3]", 7, &l) != NULL, "nodes at limit");
    ok(test_parse_n("[1,[2]]", 7, &l) != NULL, "nodes at limit, nested");
    ok(test_parse_n("[1,[2,3]]", 9, &l) == NULL
       && strcmp(test_err, "too many values") == 0, "nodes over limit");

    l.max_nodes = 1;
    ok(test_parse_n("1", 1, &l) != NULL, "one node");
    ok(test_parse_n("[]", 2, &l) != NULL, "one empty array");
    ok(test_parse_n("[1]", 3, &l) == NULL, "two nodes over");

    snprintf(buf, sizeof(buf), "[%s]", "1");
    ok(kefu_json_parse(&test_arena.allocator, (unsigned char *) buf,
                       strlen(buf), NULL, test_err, sizeof(test_err))
       != NULL, "NULL limits use defaults");
}


static void
test_big(void)
{
    size_t        i, n;
    kefu_buf_t    b;
    kefu_json_t  *j;

    /* a large object takes the sorting duplicate check */
    kefu_buf_init(&b, &test_arena.allocator, 0);
    kefu_buf_adds(&b, "{");

    for (i = 0; i < 500; i++) {
        kefu_buf_addf(&b, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    }

    kefu_buf_adds(&b, "}");
    ok(!b.failed, "built big object");

    j = test_parse_n((char *) b.data, b.len, &test_lim);
    ok(j != NULL && j->n == 500, "500 members");
    ok(j != NULL && kefu_json_get(j, "k499") != NULL
       && kefu_json_get(j, "k499")->integer == 499, "get k499");

    n = b.len;
    b.len--;
    kefu_buf_adds(&b, ",\"k250\":0}");
    ok(test_rejects((char *) b.data, b.len, "duplicate key \"k250\""),
       "duplicate in big object");
    b.len = n;

    /* deep nesting up to the default limit */
    kefu_buf_init(&b, &test_arena.allocator, 0);

    for (i = 0; i < 32; i++) {
        kefu_buf_adds(&b, "[");
    }

    for (i = 0; i < 32; i++) {
        kefu_buf_adds(&b, "]");
    }

    ok(test_parse_n((char *) b.data, b.len, &test_lim) != NULL,
       "depth 32");

    kefu_buf_init(&b, &test_arena.allocator, 0);

    for (i = 0; i < 100000; i++) {
        kefu_buf_adds(&b, "[");
    }

    ok(test_rejects((char *) b.data, b.len, "nesting too deep"),
       "100000 open brackets");

    /* a long key is quoted shortened, without splitting a character */
    kefu_buf_init(&b, &test_arena.allocator, 0);
    kefu_buf_adds(&b, "{\"");

    for (i = 0; i < 20; i++) {
        kefu_buf_adds(&b, "\xe4\xb8\xad");
    }

    kefu_buf_adds(&b, "\":1,\"");

    for (i = 0; i < 20; i++) {
        kefu_buf_adds(&b, "\xe4\xb8\xad");
    }

    kefu_buf_adds(&b, "\":2}");
    ok(test_rejects((char *) b.data, b.len, "duplicate key \""),
       "long duplicate key");
    is_int(strlen(test_err), strlen("duplicate key \"\"...") + 30,
           "quoted key cut at a character boundary");
}


static void
test_alloc_failure(void)
{
    int              done, failures;
    size_t           n;
    kefu_json_t     *j;
    test_failing_t   f;
    kefu_alloc_t     a;
    char             err[64];

    static const char  doc[] =
        "{\"a\":[1,2.5,\"x\",{\"b\":null}],\"c\":true,\"d\":\"\\u4e2d\"}";

    done = 0;
    failures = 0;

    for (n = 0; n < 100 && !done; n++) {
        kefu_arena_init(&f.arena);
        f.left = n;
        a.alloc = test_failing_alloc;
        a.ctx = &f;

        j = kefu_json_parse(&a, (const unsigned char *) doc, sizeof(doc) - 1,
                            &test_lim, err, sizeof(err));
        if (j != NULL) {
            done = 1;

        } else if (strcmp(err, "out of memory") != 0) {
            failures++;
        }

        kefu_arena_free(&f.arena);
    }

    ok(done, "parse succeeds with enough memory");
    is_int(failures, 0, "every allocation failure is reported");
}


static void
test_buf(void)
{
    size_t          i;
    kefu_buf_t      b;
    kefu_alloc_t    a;
    test_failing_t  f;
    char            big[3000];

    kefu_buf_init(&b, &test_arena.allocator, 0);
    ok(b.data == NULL && b.len == 0 && !b.failed, "init with cap 0");
    kefu_buf_add(&b, "ab", 2);
    kefu_buf_adds(&b, "cd");
    kefu_buf_addf(&b, "-%d-%s", 42, "x");
    is_str(b.data, "abcd-42-x", "add, adds, addf");
    is_int(b.len, 9, "len");

    kefu_buf_init(&b, &test_arena.allocator, 0);
    kefu_buf_add_int(&b, 0);
    kefu_buf_adds(&b, " ");
    kefu_buf_add_int(&b, -17);
    kefu_buf_adds(&b, " ");
    kefu_buf_add_int(&b, 1795402682);
    kefu_buf_adds(&b, " ");
    kefu_buf_add_int(&b, LLONG_MAX);
    kefu_buf_adds(&b, " ");
    kefu_buf_add_int(&b, LLONG_MIN);
    is_str(b.data, "0 -17 1795402682 9223372036854775807 "
           "-9223372036854775808", "add_int, extremes included");

    kefu_buf_init(&b, &test_arena.allocator, 1);
    kefu_buf_addf(&b, "%d", 7);
    is_str(b.data, "7", "addf fits exactly");
    kefu_buf_addf(&b, "%s", "");
    is_str(b.data, "7", "addf empty");

    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    kefu_buf_addf(&b, "<%s>", big);
    ok(b.len == sizeof(big) + 2 && b.data[0] == '7' && b.data[1] == '<'
       && b.data[b.len - 1] == '>' && b.data[b.len] == '\0',
       "addf grows");

    kefu_buf_init(&b, &test_arena.allocator, 4);

    for (i = 0; i < 1000; i++) {
        kefu_buf_add(&b, "0123456789", 10);
    }

    ok(b.len == 10000 && b.data[b.len] == '\0'
       && memcmp(b.data + 9990, "0123456789", 10) == 0, "many adds");

    kefu_arena_init(&f.arena);
    f.left = 1;
    a.alloc = test_failing_alloc;
    a.ctx = &f;
    kefu_buf_init(&b, &a, 8);
    kefu_buf_adds(&b, "1234");
    ok(!b.failed, "fits in first block");
    kefu_buf_adds(&b, "56789");
    ok(b.failed, "failed when growth fails");
    kefu_buf_adds(&b, "x");
    kefu_buf_addf(&b, "%s", "y");
    ok(b.failed && b.len == 4 && memcmp(b.data, "1234", 4) == 0,
       "failed is sticky");
    f.left = 1;
    kefu_buf_init(&b, &a, 2);
    kefu_buf_addf(&b, "%s", "abcdef");
    ok(b.failed && b.len == 0 && b.data[0] == '\0',
       "addf failure keeps terminator");
    kefu_arena_free(&f.arena);
}


static void
test_json_str(void)
{
    kefu_buf_t    b;
    kefu_json_t  *j;

    static const unsigned char  in[] =
        "\xe6\x82\xa8\xe5\xa5\xbd \"q\" \\ \x01\n\t\x1f\x7f"
        " \xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaa /";
    static const char  want[] =
        "\"\xe6\x82\xa8\xe5\xa5\xbd \\\"q\\\" \\\\ \\u0001\\u000a\\u0009"
        "\\u001f\x7f \\u2028\\u2029\xe2\x80\xaa /\"";

    kefu_buf_init(&b, &test_arena.allocator, 0);
    kefu_buf_add_json_str(&b, in, sizeof(in) - 1);
    is_str(b.data, want, "escaped output");

    j = test_parse_n((char *) b.data, b.len, &test_lim);
    ok(j != NULL && j->type == KEFU_JSON_STRING
       && j->str.len == sizeof(in) - 1
       && memcmp(j->str.data, in, sizeof(in) - 1) == 0, "round trip");

    kefu_buf_init(&b, &test_arena.allocator, 0);
    kefu_buf_add_json_str(&b, (const unsigned char *) "", 0);
    is_str(b.data, "\"\"", "empty string");

    kefu_buf_init(&b, &test_arena.allocator, 0);
    kefu_buf_add_json_str(&b, NULL, 0);
    is_str(b.data, "\"\"", "NULL with length 0");

    kefu_buf_init(&b, &test_arena.allocator, 0);
    kefu_buf_add_json_str(&b, (const unsigned char *) "a\0b", 3);
    is_str(b.data, "\"a\\u0000b\"", "NUL escaped");

    kefu_buf_init(&b, &test_arena.allocator, 0);
    kefu_buf_add_json_str(&b, (const unsigned char *) "a\xff\xc0\x80z\xe4",
                          6);
    is_str(b.data, "\"a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd\"",
           "ill-formed bytes become U+FFFD");
    ok(test_parse_n((char *) b.data, b.len, &test_lim) != NULL,
       "replacement output parses");

    ok(kefu_json_utf8_seq((const unsigned char *) "\xe4\xb8\xad", 3) == 3,
       "utf8_seq 3");
    ok(kefu_json_utf8_seq((const unsigned char *) "\xe4\xb8\xad", 2) == 0,
       "utf8_seq truncated");
    ok(kefu_json_utf8_seq((const unsigned char *) "\xf0\x9f\x98\x80", 4)
       == 4, "utf8_seq 4");
}


int
main(void)
{
    kefu_arena_init(&test_arena);

    test_types();
    test_numbers();
    test_rejections();
    test_utf8();
    test_limits();
    test_big();
    test_alloc_failure();
    test_buf();
    test_json_str();

    kefu_arena_free(&test_arena);

    return done_testing();
}
