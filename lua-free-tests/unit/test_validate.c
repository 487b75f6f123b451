/*
 * Unit tests: request body checks (kefu_validate).
 */

#include "tap.h"
#include "kefu_validate.h"


static const kefu_field_t  fields[] = {
    { "question", KEFU_F_STRING, 1, 1, 10 },
    { "session_id", KEFU_F_IDENT, 0, 1, 8 },
    { "helpful", KEFU_F_BOOL, 0, 0, 0 },
    { "turn", KEFU_F_INT, 0, 1, 100 },
    { "events", KEFU_F_ARRAY, 0, 1, 3 },
    { "attrs", KEFU_F_OBJECT, 0, 0, 0 },
    { NULL, 0, 0, 0, 0 }
};


static int
check(const char *json, char *err, size_t errlen, const kefu_json_t **out)
{
    int                  rc;
    kefu_json_t         *v;
    kefu_arena_t         arena;
    kefu_json_limits_t   lim = { 8, 64, 1024, 256 };

    kefu_arena_init(&arena);
    v = kefu_json_parse(&arena.allocator, (const unsigned char *) json,
                        strlen(json), &lim, err, errlen);
    if (v == NULL) {
        kefu_arena_free(&arena);
        return -2;
    }

    rc = kefu_validate(v, fields, out, err, errlen);
    /* out points into the arena: tests only look at rc and err */
    kefu_arena_free(&arena);
    return rc;
}


int
main(void)
{
    char                err[128];
    const kefu_json_t  *out[8];

    is_int(check("{\"question\":\"怎么还款\"}", err, sizeof(err), out),
           KEFU_OK, "minimal body");
    is_int(check("{\"question\":\"怎么还款\",\"session_id\":\"s-1\","
                 "\"helpful\":true,\"turn\":3,\"events\":[1],"
                 "\"attrs\":{}}", err, sizeof(err), out),
           KEFU_OK, "every field");

    is_int(check("{}", err, sizeof(err), out), KEFU_ERROR, "missing");
    is_str(err, "field \"question\" is required", "missing message");

    is_int(check("{\"question\":\"a\",\"x\":1}", err, sizeof(err), out),
           KEFU_ERROR, "unknown field");
    is_str(err, "unknown field \"x\"", "unknown field message");

    is_int(check("{\"question\":5}", err, sizeof(err), out), KEFU_ERROR,
           "number for string");
    is_str(err, "field \"question\" must be a string", "type message");

    is_int(check("{\"question\":\"一二三四五六七八九十\"}", err, sizeof(err),
                 out),
           KEFU_OK, "10 CJK characters are 10, not 30");
    is_int(check("{\"question\":\"一二三四五六七八九十一\"}", err,
                 sizeof(err), out),
           KEFU_ERROR, "11 characters too long");
    is_int(check("{\"question\":\"\"}", err, sizeof(err), out), KEFU_ERROR,
           "empty string too short");

    is_int(check("{\"question\":\"a\",\"session_id\":\"a b\"}", err,
                 sizeof(err), out),
           KEFU_ERROR, "identifier with a space");
    is_int(check("{\"question\":\"a\",\"session_id\":\"123456789\"}", err,
                 sizeof(err), out),
           KEFU_ERROR, "identifier too long");
    is_int(check("{\"question\":\"a\",\"helpful\":\"yes\"}", err,
                 sizeof(err), out),
           KEFU_ERROR, "string for bool");
    is_int(check("{\"question\":\"a\",\"turn\":1.5}", err, sizeof(err), out),
           KEFU_ERROR, "fraction for integer");
    is_int(check("{\"question\":\"a\",\"turn\":101}", err, sizeof(err), out),
           KEFU_ERROR, "integer out of range");
    is_int(check("{\"question\":\"a\",\"events\":[]}", err, sizeof(err),
                 out),
           KEFU_ERROR, "array too short");
    is_int(check("{\"question\":\"a\",\"events\":[1,2,3,4]}", err,
                 sizeof(err), out),
           KEFU_ERROR, "array too long");
    is_int(check("{\"question\":\"a\",\"attrs\":[]}", err, sizeof(err), out),
           KEFU_ERROR, "array for object");
    is_int(check("{\"question\":null}", err, sizeof(err), out), KEFU_ERROR,
           "null for a required field");
    is_int(check("{\"question\":\"a\",\"\\u0001bad\":1}", err, sizeof(err),
                 out),
           KEFU_ERROR, "unknown key with a control character");
    is_str(err, "unknown field \"\"", "control characters not echoed");

    is_int(kefu_utf8_length((const unsigned char *) "a中b", 5), 3,
           "utf8 length");
    ok(kefu_is_ident((const unsigned char *) "faq-1.x:y_z", 11, 64),
       "ident ok");
    ok(!kefu_is_ident((const unsigned char *) "", 0, 64), "empty ident");

    return done_testing();
}
