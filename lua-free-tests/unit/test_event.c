/*
 * Unit tests: the events codec of POST /v1/events (batch check, stored
 * form and its decoding).  Run from the repository's top directory.
 */

#include <stdio.h>

#include "tap.h"
#include "kefu_core.h"
#include "kefu_event.h"
#include "kefu_json.h"


static void
test_events(void)
{
    int                  rc;
    char                 err[256], big[4096], *p;
    size_t               n, i;
    int64_t              ts, now;
    kefu_str_t           type;
    kefu_buf_t           b;
    kefu_json_t         *j;
    kefu_arena_t         a;
    kefu_event_in_t      ev[KEFU_EVENTS_MAX_BATCH];

    now = 1800000000;
    kefu_arena_init(&a);

#define CHECK(json)                                                           \
    (j = kefu_json_parse(&a.allocator, (const unsigned char *) (json),        \
                         strlen(json), NULL, err, sizeof(err)),               \
     j == NULL ? -2                                                           \
               : kefu_events_check(j, now, 7 * 86400, ev, &n, err,            \
                                   sizeof(err)))

    rc = CHECK("{\"events\":[{\"type\":\"transfer_failed\"},"
               "{\"type\":\"bill_due\",\"ts\":1799999000,"
               "\"attrs\":{\"amount\":12.5,\"bank\":\"工商\",\"ok\":false,"
               "\"n\":3}}]}");
    is_int(rc, KEFU_OK, "valid batch");
    is_int(n, 2, "two events");
    is_int(ev[0].ts, now, "ts defaults to now");
    is_int(ev[1].ts, 1799999000, "ts kept");
    ok(ev[0].attrs == NULL && ev[1].attrs != NULL, "attrs");

    kefu_buf_init(&b, &a.allocator, 64);
    kefu_event_encode(&b, &ev[1]);
    is_str((char *) b.data, "{\"ts\":1799999000,\"type\":\"bill_due\","
           "\"attrs\":{\"amount\":12.5,\"bank\":\"工商\",\"ok\":false,"
           "\"n\":3}}", "encoded");
    rc = kefu_event_decode(b.data, b.len, &type, &ts);
    ok(rc == KEFU_OK && type.len == 8 && memcmp(type.data, "bill_due", 8) == 0
       && ts == 1799999000, "decoded back");
    ok(kefu_json_parse(&a.allocator, b.data, b.len, NULL, err, sizeof(err))
       != NULL, "stored form is JSON");

    ok(kefu_event_decode((unsigned char *) "{\"ts\":1,\"type\":\"x\"}", 20,
                         &type, &ts) == KEFU_OK, "minimal form");
    ok(kefu_event_decode((unsigned char *) "{\"ts\":1,\"type\":\"X\"}", 20,
                         &type, &ts) == KEFU_ERROR, "bad type char");
    ok(kefu_event_decode((unsigned char *) "{\"ts\":,\"type\":\"x\"}", 19,
                         &type, &ts) == KEFU_ERROR, "no ts");
    ok(kefu_event_decode((unsigned char *) "{\"ts\":1,\"type\":\"x", 17,
                         &type, &ts) == KEFU_ERROR, "truncated");
    ok(kefu_event_decode((unsigned char *) "garbage", 7, &type, &ts)
       == KEFU_ERROR, "garbage");

    ok(CHECK("{\"events\":[{\"type\":\"x\"}],\"user\":\"u2\"}") == KEFU_ERROR,
       "unknown top-level field");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"extra\":1}]}") == KEFU_ERROR,
       "unknown event field");
    ok(CHECK("{\"events\":[]}") == KEFU_ERROR, "empty batch");
    ok(CHECK("{\"events\":{}}") == KEFU_ERROR, "events not an array");
    ok(CHECK("{}") == KEFU_ERROR, "events missing");
    ok(CHECK("{\"events\":[5]}") == KEFU_ERROR, "event not an object");
    ok(CHECK("{\"events\":[{\"type\":5}]}") == KEFU_ERROR, "type a number");
    ok(CHECK("{\"events\":[{\"type\":\"Transfer\"}]}") == KEFU_ERROR,
       "upper case type");
    ok(CHECK("{\"events\":[{\"type\":\"\"}]}") == KEFU_ERROR, "empty type");
    ok(CHECK("{\"events\":[{\"type\":\"a234567890123456789012345678901234567"
             "890\"}]}") == KEFU_OK, "40-byte type");
    ok(CHECK("{\"events\":[{\"type\":\"a234567890123456789012345678901234567"
             "8901\"}]}") == KEFU_ERROR, "41-byte type");
    ok(CHECK("{\"events\":[{\"ts\":1}]}") == KEFU_ERROR, "type missing");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"ts\":\"1\"}]}") == KEFU_ERROR,
       "ts a string");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"ts\":1799999999.5}]}")
       == KEFU_ERROR, "ts fractional");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"ts\":1800000300}]}") == KEFU_OK,
       "ts 5 min ahead: skew allowed");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"ts\":1800000301}]}")
       == KEFU_ERROR, "ts beyond the skew");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"ts\":1800000000000}]}")
       == KEFU_ERROR, "milliseconds are refused");
    ok(strstr(err, "future") != NULL, "message says future: %s", err);
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"ts\":1799395200}]}") == KEFU_OK,
       "7 days old");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"ts\":1799395199}]}")
       == KEFU_ERROR, "older than the trail");
    j = kefu_json_parse(&a.allocator,
                        (const unsigned char *)
                        "{\"events\":[{\"type\":\"x\",\"ts\":-5}]}",
                        sizeof("{\"events\":[{\"type\":\"x\",\"ts\":-5}]}")
                        - 1, NULL, err, sizeof(err));
    ok(j != NULL && kefu_events_check(j, now, 100LL * 365 * 86400, ev, &n,
                                      err, sizeof(err))
                    == KEFU_ERROR,
       "before 1970, even with a trail kept for a century");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"attrs\":[]}]}") == KEFU_ERROR,
       "attrs an array");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"attrs\":{\"a\":{}}}]}")
       == KEFU_ERROR, "nested attrs");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"attrs\":{\"a\":null}}]}")
       == KEFU_ERROR, "null attr");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"attrs\":{\"a b\":1}}]}")
       == KEFU_ERROR, "attr key with a space");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"attrs\":{\"a\":1,\"b\":1,"
             "\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1}}]}")
       == KEFU_OK, "8 attrs");
    ok(CHECK("{\"events\":[{\"type\":\"x\",\"attrs\":{\"a\":1,\"b\":1,"
             "\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1}}]}")
       == KEFU_ERROR, "9 attrs");

    /* 64 characters (Chinese) fit, 65 do not */
    p = big + sprintf(big, "{\"events\":[{\"type\":\"x\",\"attrs\":{\"s\":\"");
    for (i = 0; i < 64; i++) {
        p += sprintf(p, "字");
    }
    strcpy(p, "\"}}]}");
    ok(CHECK(big) == KEFU_OK, "64-character attr");
    sprintf(p, "字\"}}]}");
    ok(CHECK(big) == KEFU_ERROR, "65-character attr");

    p = big + sprintf(big, "{\"events\":[");
    for (i = 0; i < 101; i++) {
        p += sprintf(p, "%s{\"type\":\"e\"}", i ? "," : "");
    }
    strcpy(p, "]}");
    ok(CHECK(big) == KEFU_ERROR, "101 events");
    strcpy(p - 13, "]}");
    ok(CHECK(big) == KEFU_OK && n == 100, "100 events");

    kefu_arena_free(&a);
}


int
main(void)
{
    test_events();

    return done_testing();
}
