/*
 * ngx_kefu: the events codec of POST /v1/events (batch check, stored form).
 */

#include <stdio.h>

#include "kefu_event.h"
#include "kefu_validate.h"


int
kefu_event_type_valid(const unsigned char *p, size_t len, size_t max)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || len > max) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
              || c == '.' || c == ':' || c == '-'))
        {
            return 0;
        }
    }

    return 1;
}


static int
kefu_events_attrs(const kefu_json_t *v, size_t i, char *err, size_t errlen)
{
    size_t              k;
    const kefu_json_t  *x;

    if (v->type != KEFU_JSON_OBJECT) {
        snprintf(err, errlen, "events[%zu].attrs must be an object", i);
        return KEFU_ERROR;
    }

    if (v->n > KEFU_EVENT_MAX_ATTRS) {
        snprintf(err, errlen, "events[%zu].attrs has more than %d keys", i,
                 KEFU_EVENT_MAX_ATTRS);
        return KEFU_ERROR;
    }

    for (k = 0; k < v->n; k++) {
        if (!kefu_is_ident(v->keys[k].data, v->keys[k].len,
                           KEFU_EVENT_MAX_ATTR_KEY))
        {
            snprintf(err, errlen, "events[%zu].attrs keys must be 1 to %d "
                     "letters, digits or \"_.:-\"", i,
                     KEFU_EVENT_MAX_ATTR_KEY);
            return KEFU_ERROR;
        }

        x = v->items[k];

        switch (x->type) {

        case KEFU_JSON_STRING:
            if (kefu_utf8_length(x->str.data, x->str.len)
                > KEFU_EVENT_MAX_ATTR_STR)
            {
                snprintf(err, errlen, "events[%zu].attrs.%s is longer than "
                         "%d characters", i, (char *) v->keys[k].data,
                         KEFU_EVENT_MAX_ATTR_STR);
                return KEFU_ERROR;
            }

            break;

        case KEFU_JSON_NUMBER:
        case KEFU_JSON_BOOL:
            break;

        default:
            snprintf(err, errlen, "events[%zu].attrs.%s must be a string, "
                     "a number or a boolean", i, (char *) v->keys[k].data);
            return KEFU_ERROR;
        }
    }

    return KEFU_OK;
}


int
kefu_events_check(const kefu_json_t *body, int64_t now, int64_t max_age,
    kefu_event_in_t *out, size_t *n, char *err, size_t errlen)
{
    size_t              i, k;
    const kefu_json_t  *events, *ev, *v;
    const kefu_str_t   *key;

    *n = 0;

    if (body == NULL || body->type != KEFU_JSON_OBJECT) {
        snprintf(err, errlen, "body must be a JSON object");
        return KEFU_ERROR;
    }

    for (k = 0; k < body->n; k++) {
        if (strcmp((char *) body->keys[k].data, "events") != 0) {
            snprintf(err, errlen, "unknown field (only \"events\")");
            return KEFU_ERROR;
        }
    }

    events = kefu_json_get(body, "events");

    if (events == NULL || events->type != KEFU_JSON_ARRAY) {
        snprintf(err, errlen, "field \"events\" must be an array");
        return KEFU_ERROR;
    }

    if (events->n == 0 || events->n > KEFU_EVENTS_MAX_BATCH) {
        snprintf(err, errlen, "field \"events\" must have 1 to %d items",
                 KEFU_EVENTS_MAX_BATCH);
        return KEFU_ERROR;
    }

    for (i = 0; i < events->n; i++) {
        ev = events->items[i];

        if (ev->type != KEFU_JSON_OBJECT) {
            snprintf(err, errlen, "events[%zu] must be an object", i);
            return KEFU_ERROR;
        }

        for (k = 0; k < ev->n; k++) {
            key = &ev->keys[k];

            if (strcmp((char *) key->data, "type") != 0
                && strcmp((char *) key->data, "ts") != 0
                && strcmp((char *) key->data, "attrs") != 0)
            {
                snprintf(err, errlen, "events[%zu] has an unknown field "
                         "(known: type, ts, attrs)", i);
                return KEFU_ERROR;
            }
        }

        v = kefu_json_get(ev, "type");

        if (v == NULL || v->type != KEFU_JSON_STRING
            || !kefu_event_type_valid(v->str.data, v->str.len,
                                      KEFU_EVENT_MAX_TYPE))
        {
            snprintf(err, errlen, "events[%zu].type must be 1 to %d of "
                     "[a-z0-9_.:-]", i, KEFU_EVENT_MAX_TYPE);
            return KEFU_ERROR;
        }

        out[i].type = v->str;
        out[i].ts = now;
        out[i].attrs = NULL;

        v = kefu_json_get(ev, "ts");

        if (v != NULL) {
            if (v->type != KEFU_JSON_NUMBER || !v->is_int) {
                snprintf(err, errlen, "events[%zu].ts must be an integer "
                         "(unix seconds)", i);
                return KEFU_ERROR;
            }

            if (v->integer > now + KEFU_EVENT_MAX_SKEW) {
                snprintf(err, errlen, "events[%zu].ts is in the future "
                         "(unix seconds expected)", i);
                return KEFU_ERROR;
            }

            /* a trail_ttl of decades must not let 1969 in */
            if (v->integer < now - max_age || v->integer < 0) {
                snprintf(err, errlen, "events[%zu].ts is older than the "
                         "trail is kept", i);
                return KEFU_ERROR;
            }

            out[i].ts = v->integer;
        }

        v = kefu_json_get(ev, "attrs");

        if (v != NULL) {
            if (kefu_events_attrs(v, i, err, errlen) != KEFU_OK) {
                return KEFU_ERROR;
            }

            out[i].attrs = v->n ? v : NULL;
        }
    }

    *n = events->n;

    return KEFU_OK;
}


void
kefu_event_encode(kefu_buf_t *b, const kefu_event_in_t *ev)
{
    size_t              k;
    const kefu_json_t  *x;

    kefu_buf_adds(b, "{\"ts\":");
    kefu_buf_add_int(b, (long long) ev->ts);
    kefu_buf_adds(b, ",\"type\":");
    kefu_buf_add_json_str(b, ev->type.data, ev->type.len);

    if (ev->attrs != NULL) {
        kefu_buf_adds(b, ",\"attrs\":{");

        for (k = 0; k < ev->attrs->n; k++) {
            if (k) {
                kefu_buf_adds(b, ",");
            }

            kefu_buf_add_json_str(b, ev->attrs->keys[k].data,
                                  ev->attrs->keys[k].len);
            kefu_buf_adds(b, ":");

            x = ev->attrs->items[k];

            switch (x->type) {

            case KEFU_JSON_STRING:
                kefu_buf_add_json_str(b, x->str.data, x->str.len);
                break;

            case KEFU_JSON_BOOL:
                kefu_buf_adds(b, x->boolean ? "true" : "false");
                break;

            case KEFU_JSON_NUMBER:
                if (x->is_int) {
                    kefu_buf_add_int(b, (long long) x->integer);

                } else {
                    kefu_buf_addf(b, "%.17g", x->number);
                }

                break;

            default:
                kefu_buf_adds(b, "null");
                break;
            }
        }

        kefu_buf_adds(b, "}");
    }

    kefu_buf_adds(b, "}");
}


int
kefu_event_decode(const unsigned char *p, size_t len, kefu_str_t *type,
    int64_t *ts)
{
    size_t                i, start, digits;
    int64_t               v;

    static const char     head[] = "{\"ts\":";
    static const char     mid[] = ",\"type\":\"";

    if (len < sizeof(head) - 1 || memcmp(p, head, sizeof(head) - 1) != 0) {
        return KEFU_ERROR;
    }

    i = sizeof(head) - 1;
    v = 0;
    digits = 0;

    while (i < len && p[i] >= '0' && p[i] <= '9') {
        if (++digits > 15) {
            return KEFU_ERROR;
        }

        v = v * 10 + (p[i++] - '0');
    }

    if (digits == 0 || len - i < sizeof(mid) - 1
        || memcmp(p + i, mid, sizeof(mid) - 1) != 0)
    {
        return KEFU_ERROR;
    }

    i += sizeof(mid) - 1;
    start = i;

    while (i < len && p[i] != '"') {
        i++;
    }

    if (i + 1 >= len || (p[i + 1] != '}' && p[i + 1] != ',')
        || !kefu_event_type_valid(p + start, i - start, KEFU_EVENT_MAX_TYPE))
    {
        return KEFU_ERROR;
    }

    type->data = (unsigned char *) p + start;
    type->len = i - start;
    *ts = v;

    return KEFU_OK;
}
