/*
 * libFuzzer target: request bodies the way every endpoint sees them —
 * kefu_json_parse with the limits of ngx_http_kefu_parse_body, then
 * kefu_validate with an endpoint's field table.
 *
 * The tables below mirror the ones of the glue files (they are static
 * there, next to nginx code that cannot be linked here); the first byte
 * picks one.  A body that passes must give, for every field, a value of
 * the declared type within its bounds, and NULL only for optional fields;
 * a refused body must come with a message.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kefu_json.h"
#include "kefu_validate.h"
#include "fuzz.h"


/* POST /v1/ask */
static const kefu_field_t  fuzz_ask[] = {
    { "question", KEFU_F_STRING, 0, 1, 500 },
    { "session_id", KEFU_F_IDENT, 0, 1, 64 },
    { "scene", KEFU_F_IDENT, 0, 1, 32 },
    { "faq_id", KEFU_F_IDENT, 0, 1, 64 },
    { "choice", KEFU_F_IDENT, 0, 1, 64 },
    { NULL, 0, 0, 0, 0 }
};

/* POST /v1/admin/search */
static const kefu_field_t  fuzz_search[] = {
    { "question", KEFU_F_STRING, 1, 1, 500 },
    { "k", KEFU_F_INT, 0, 1, 20 },
    { NULL, 0, 0, 0, 0 }
};

/* POST /v1/handoff */
static const kefu_field_t  fuzz_handoff[] = {
    { "session_id", KEFU_F_IDENT, 1, 1, 64 },
    { "reason", KEFU_F_STRING, 0, 1, 200 },
    { NULL, 0, 0, 0, 0 }
};

/* POST /v1/feedback */
static const kefu_field_t  fuzz_feedback[] = {
    { "session_id", KEFU_F_IDENT, 1, 1, 64 },
    { "turn", KEFU_F_INT, 1, 1, 1000000000 },
    { "helpful", KEFU_F_BOOL, 1, 0, 0 },
    { "reason", KEFU_F_STRING, 0, 1, 200 },
    { NULL, 0, 0, 0, 0 }
};

/* POST /v1/admin/loss-reports/{id} */
static const kefu_field_t  fuzz_lr_status[] = {
    { "status", KEFU_F_STRING, 0, 1, 16 },
    { "frozen", KEFU_F_BOOL, 0, 0, 0 },
    { NULL, 0, 0, 0, 0 }
};

/* POST /v1/events (the array's items are checked by the caller) */
static const kefu_field_t  fuzz_events[] = {
    { "events", KEFU_F_ARRAY, 1, 1, 100 },
    { NULL, 0, 0, 0, 0 }
};

static const kefu_field_t  *fuzz_tables[] = {
    fuzz_ask, fuzz_search, fuzz_handoff, fuzz_feedback, fuzz_lr_status,
    fuzz_events
};

#define FUZZ_NTABLES  (sizeof(fuzz_tables) / sizeof(fuzz_tables[0]))


static void
fuzz_check_value(const kefu_field_t *f, const kefu_json_t *v)
{
    switch (f->type) {

    case KEFU_F_STRING:
        fuzz_assert(v->type == KEFU_JSON_STRING);
        fuzz_assert(kefu_utf8_length(v->str.data, v->str.len)
                    >= (size_t) f->min);
        fuzz_assert(kefu_utf8_length(v->str.data, v->str.len)
                    <= (size_t) f->max);
        break;

    case KEFU_F_IDENT:
        fuzz_assert(v->type == KEFU_JSON_STRING);
        fuzz_assert(kefu_is_ident(v->str.data, v->str.len, f->max));
        fuzz_assert(v->str.len >= (size_t) f->min
                    && v->str.len <= (size_t) f->max);
        break;

    case KEFU_F_BOOL:
        fuzz_assert(v->type == KEFU_JSON_BOOL);
        break;

    case KEFU_F_INT:
        fuzz_assert(v->type == KEFU_JSON_NUMBER && v->is_int);
        fuzz_assert(v->integer >= f->min && v->integer <= f->max);
        break;

    case KEFU_F_ARRAY:
        fuzz_assert(v->type == KEFU_JSON_ARRAY);
        fuzz_assert(v->n >= (size_t) f->min && v->n <= (size_t) f->max);
        break;

    case KEFU_F_OBJECT:
        fuzz_assert(v->type == KEFU_JSON_OBJECT);
        break;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                 err[128];
    size_t               i;
    uint8_t              pick;
    kefu_json_t         *body;
    kefu_arena_t         arena;
    const kefu_json_t   *out[16];
    const kefu_field_t  *fields;

    /* as ngx_http_kefu_parse_body with kefu_max_body 64k */
    static const kefu_json_limits_t  limits = { 8, 256, 64 * 1024, 4096 };

    if (size == 0) {
        return 0;
    }

    pick = data[0];
    data++;
    size--;

    fields = fuzz_tables[pick % FUZZ_NTABLES];

    kefu_arena_init(&arena);

    body = kefu_json_parse(&arena.allocator, data, size, &limits, err,
                           sizeof(err));

    if (body != NULL && body->type == KEFU_JSON_OBJECT) {
        err[0] = '\0';

        for (i = 0; i < 16; i++) {
            out[i] = (const kefu_json_t *) (uintptr_t) 1;   /* poison */
        }

        if (kefu_validate(body, fields, out, err, sizeof(err)) == KEFU_OK) {
            for (i = 0; fields[i].name != NULL; i++) {
                if (out[i] == NULL) {
                    fuzz_assert(!fields[i].required);
                    fuzz_assert(kefu_json_get(body, fields[i].name) == NULL);
                    continue;
                }

                fuzz_assert(out[i] == kefu_json_get(body, fields[i].name));
                fuzz_check_value(&fields[i], out[i]);
            }

            /* only known fields pass */
            for (i = 0; i < body->n; i++) {
                size_t  j;
                int     known = 0;

                for (j = 0; fields[j].name != NULL; j++) {
                    if (strlen(fields[j].name) == body->keys[i].len
                        && memcmp(fields[j].name, body->keys[i].data,
                                  body->keys[i].len) == 0)
                    {
                        known = 1;
                    }
                }

                fuzz_assert(known);
            }

        } else {
            fuzz_assert(err[0] != '\0');
            fuzz_assert(memchr(err, '\0', sizeof(err)) != NULL);
        }
    }

    kefu_arena_free(&arena);

    return 0;
}
