/*
 * libFuzzer target: the user's behaviour trail, both ways in.
 *
 * Every input is used twice:
 *   - as a trail record read back from Redis (kefu_event_decode): a
 *     record that decodes must give a valid type inside the record, right
 *     after the digits of ts, and when the record is also JSON, its
 *     parse must agree on ts and type;
 *   - as a POST /v1/events body (kefu_json_parse with the limits of
 *     ngx_http_kefu_parse_body, then kefu_events_check): a batch that
 *     passes must give 1..KEFU_EVENTS_MAX_BATCH events, each with the
 *     type, ts and attrs of the body within their bounds, and the stored
 *     form of each (kefu_event_encode) must be JSON that says the same
 *     and decode to the same type and ts.  A refused batch must come
 *     with a message and no events.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kefu_json.h"
#include "kefu_event.h"
#include "kefu_validate.h"
#include "fuzz.h"


/* as ngx_http_kefu_parse_body with kefu_max_body 64k */
static const kefu_json_limits_t  fuzz_limits = { 8, 256, 64 * 1024, 4096 };

/* a fixed clock and the default trail_ttl */
#define FUZZ_NOW      1717000000
#define FUZZ_MAX_AGE  (7 * 86400)


static void
fuzz_decode(kefu_alloc_t *a, const uint8_t *data, size_t size)
{
    char                err[128];
    size_t              i, digits;
    int64_t             ts, v;
    kefu_str_t          type;
    kefu_json_t        *j;
    const kefu_json_t  *x;

    ts = -1;
    type.data = NULL;
    type.len = 0;

    if (kefu_event_decode(data, size, &type, &ts) != KEFU_OK) {
        return;
    }

    /* {"ts":<digits>,"type":"<type>"} or ,"attrs":... after the type */
    fuzz_assert(size >= 6 && memcmp(data, "{\"ts\":", 6) == 0);

    v = 0;
    digits = 0;

    for (i = 6; i < size && data[i] >= '0' && data[i] <= '9'; i++) {
        v = v * 10 + (data[i] - '0');
        digits++;
    }

    fuzz_assert(digits >= 1 && digits <= 15);
    fuzz_assert(ts == v && ts >= 0);

    fuzz_assert(type.data == data + 6 + digits + 9);
    fuzz_assert(kefu_event_type_valid(type.data, type.len,
                                      KEFU_EVENT_MAX_TYPE));
    fuzz_assert(type.len + 2 <= size - (size_t) (type.data - data));
    fuzz_assert(type.data[type.len] == '"');
    fuzz_assert(type.data[type.len + 1] == '}'
                || type.data[type.len + 1] == ',');

    /* when the record is JSON, the parser reads the same */
    j = kefu_json_parse(a, data, size, NULL, err, sizeof(err));

    if (j == NULL) {
        return;
    }

    fuzz_assert(j->type == KEFU_JSON_OBJECT && j->n >= 2);
    fuzz_assert(fuzz_str_eq(&j->keys[0], "ts"));
    fuzz_assert(fuzz_str_eq(&j->keys[1], "type"));

    x = j->items[0];
    fuzz_assert(x->type == KEFU_JSON_NUMBER && x->is_int);
    fuzz_assert(x->integer == ts);

    x = j->items[1];
    fuzz_assert(x->type == KEFU_JSON_STRING);
    fuzz_assert(fuzz_same_str(&x->str, &type));
}


static void
fuzz_check_attrs(const kefu_json_t *attrs)
{
    size_t              k;
    const kefu_json_t  *x;

    fuzz_assert(attrs->type == KEFU_JSON_OBJECT);
    fuzz_assert(attrs->n >= 1 && attrs->n <= KEFU_EVENT_MAX_ATTRS);

    for (k = 0; k < attrs->n; k++) {
        fuzz_assert(kefu_is_ident(attrs->keys[k].data, attrs->keys[k].len,
                                  KEFU_EVENT_MAX_ATTR_KEY));

        x = attrs->items[k];

        fuzz_assert(x->type == KEFU_JSON_STRING
                    || x->type == KEFU_JSON_NUMBER
                    || x->type == KEFU_JSON_BOOL);

        if (x->type == KEFU_JSON_STRING) {
            fuzz_assert(kefu_utf8_length(x->str.data, x->str.len)
                        <= KEFU_EVENT_MAX_ATTR_STR);
        }
    }
}


/* the stored form of a checked event: JSON saying the same, decodable */
static void
fuzz_stored(kefu_alloc_t *a, const kefu_event_in_t *ev)
{
    char                err[128];
    size_t              k;
    int64_t             ts;
    kefu_buf_t          b;
    kefu_str_t          type;
    kefu_json_t        *j;
    const kefu_json_t  *x;

    kefu_buf_init(&b, a, 64);
    kefu_event_encode(&b, ev);
    fuzz_assert(!b.failed);

    j = kefu_json_parse(a, b.data, b.len, NULL, err, sizeof(err));
    if (j == NULL) {
        fprintf(stderr, "stored event is not JSON: %s\n%.*s\n", err,
                (int) b.len, (char *) b.data);
        abort();
    }

    fuzz_assert(j->type == KEFU_JSON_OBJECT);
    fuzz_assert(j->n == (ev->attrs != NULL ? 3u : 2u));
    fuzz_assert(fuzz_str_eq(&j->keys[0], "ts"));
    fuzz_assert(j->items[0]->type == KEFU_JSON_NUMBER
                && j->items[0]->is_int
                && j->items[0]->integer == ev->ts);
    fuzz_assert(fuzz_str_eq(&j->keys[1], "type"));
    fuzz_assert(j->items[1]->type == KEFU_JSON_STRING
                && fuzz_same_str(&j->items[1]->str, &ev->type));

    if (ev->attrs != NULL) {
        fuzz_assert(fuzz_str_eq(&j->keys[2], "attrs"));

        x = j->items[2];
        fuzz_assert(x->type == KEFU_JSON_OBJECT && x->n == ev->attrs->n);

        for (k = 0; k < x->n; k++) {
            fuzz_assert(fuzz_same_str(&x->keys[k], &ev->attrs->keys[k]));
            fuzz_assert(fuzz_json_equal(x->items[k], ev->attrs->items[k]));
        }
    }

    if (kefu_event_decode(b.data, b.len, &type, &ts) != KEFU_OK) {
        fprintf(stderr, "stored event does not decode:\n%.*s\n",
                (int) b.len, (char *) b.data);
        abort();
    }

    fuzz_assert(ts == ev->ts);
    fuzz_assert(fuzz_same_str(&type, &ev->type));
}


static void
fuzz_passed(kefu_alloc_t *a, const kefu_json_t *body,
    const kefu_event_in_t *out, size_t n)
{
    size_t              i, k;
    const kefu_json_t  *events, *ev, *v;

    /* "events" only, an array of as many events as were given */
    fuzz_assert(body->type == KEFU_JSON_OBJECT && body->n == 1);
    fuzz_assert(fuzz_str_eq(&body->keys[0], "events"));

    events = body->items[0];
    fuzz_assert(events->type == KEFU_JSON_ARRAY);
    fuzz_assert(n >= 1 && n <= KEFU_EVENTS_MAX_BATCH && n == events->n);

    for (i = 0; i < n; i++) {
        ev = events->items[i];
        fuzz_assert(ev->type == KEFU_JSON_OBJECT && ev->n <= 3);

        for (k = 0; k < ev->n; k++) {
            fuzz_assert(fuzz_str_eq(&ev->keys[k], "type")
                        || fuzz_str_eq(&ev->keys[k], "ts")
                        || fuzz_str_eq(&ev->keys[k], "attrs"));
        }

        /* the type: the body's string */
        v = kefu_json_get(ev, "type");
        fuzz_assert(v != NULL && v->type == KEFU_JSON_STRING);
        fuzz_assert(out[i].type.data == v->str.data
                    && out[i].type.len == v->str.len);
        fuzz_assert(kefu_event_type_valid(out[i].type.data, out[i].type.len,
                                          KEFU_EVENT_MAX_TYPE));

        /* ts: the body's, or now; never too old or too far ahead */
        v = kefu_json_get(ev, "ts");

        if (v == NULL) {
            fuzz_assert(out[i].ts == FUZZ_NOW);

        } else {
            fuzz_assert(v->type == KEFU_JSON_NUMBER && v->is_int);
            fuzz_assert(out[i].ts == v->integer);
        }

        fuzz_assert(out[i].ts >= FUZZ_NOW - FUZZ_MAX_AGE);
        fuzz_assert(out[i].ts <= FUZZ_NOW + KEFU_EVENT_MAX_SKEW);

        /* attrs: the body's object when not empty */
        v = kefu_json_get(ev, "attrs");

        if (v == NULL || (v->type == KEFU_JSON_OBJECT && v->n == 0)) {
            fuzz_assert(out[i].attrs == NULL);

        } else {
            fuzz_assert(out[i].attrs == v);
            fuzz_check_attrs(out[i].attrs);
        }

        fuzz_stored(a, &out[i]);
    }
}


static void
fuzz_check(kefu_alloc_t *a, const uint8_t *data, size_t size)
{
    char              err[128];
    size_t            n;
    kefu_json_t      *body;
    kefu_event_in_t   out[KEFU_EVENTS_MAX_BATCH];

    body = kefu_json_parse(a, data, size, &fuzz_limits, err, sizeof(err));

    if (body == NULL) {
        return;
    }

    err[0] = '\0';
    n = (size_t) -1;
    memset(out, 0xa5, sizeof(out));     /* poison */

    if (kefu_events_check(body, FUZZ_NOW, FUZZ_MAX_AGE, out, &n, err,
                          sizeof(err))
        == KEFU_OK)
    {
        fuzz_passed(a, body, out, n);

    } else {
        fuzz_assert(n == 0);
        fuzz_assert(err[0] != '\0');
        fuzz_assert(memchr(err, '\0', sizeof(err)) != NULL);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kefu_arena_t  arena;

    kefu_arena_init(&arena);

    fuzz_decode(&arena.allocator, data, size);
    fuzz_check(&arena.allocator, data, size);

    kefu_arena_free(&arena);

    return 0;
}
