/*
 * libFuzzer target: POST /v1/loss-reports bodies — kefu_json_parse with
 * the limits of ngx_http_kefu_parse_body, then kefu_lr_parse and, for a
 * body that passes, kefu_lr_fingerprint.
 *
 * A body that passes must give a request that says what the body says:
 * kind and reason by name, card_last4 four digits exactly when the kind
 * is card, police_report and note as written (null counts as absent).
 * Its canonical form must be the one built here from the body, and the
 * same request written differently (keys in reverse order, every ASCII
 * character as a \u escape, defaults spelled out) must have the same
 * fingerprint.  A refused body must come with a message.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kefu_json.h"
#include "kefu_report.h"
#include "kefu_validate.h"
#include "fuzz.h"


/* as ngx_http_kefu_parse_body with kefu_max_body 64k */
static const kefu_json_limits_t  fuzz_limits = { 8, 256, 64 * 1024, 4096 };

static const char  *fuzz_known[] = {
    "kind", "reason", "card_last4", "police_report", "note", NULL
};


/* the member, or NULL when absent or null (as kefu_validate reads it) */
static const kefu_json_t *
fuzz_member(const kefu_json_t *body, const char *name)
{
    const kefu_json_t  *v;

    v = kefu_json_get(body, name);

    return (v == NULL || v->type == KEFU_JSON_NULL) ? NULL : v;
}


/* a JSON string with every ASCII character escaped as \u00XX */
static void
fuzz_add_escaped(kefu_buf_t *b, const unsigned char *s, size_t len)
{
    size_t  i;

    kefu_buf_adds(b, "\"");

    for (i = 0; i < len; i++) {
        if (s[i] < 0x80) {
            kefu_buf_addf(b, "\\u%04X", (unsigned) s[i]);

        } else {
            kefu_buf_add(b, &s[i], 1);
        }
    }

    kefu_buf_adds(b, "\"");
}


static void
fuzz_check_req(const kefu_json_t *body, const kefu_lr_req_t *req)
{
    size_t              i, k;
    const kefu_json_t  *v;

    /* known fields only */
    for (i = 0; i < body->n; i++) {
        for (k = 0; fuzz_known[k] != NULL; k++) {
            if (fuzz_str_eq(&body->keys[i], fuzz_known[k])) {
                break;
            }
        }

        fuzz_assert(fuzz_known[k] != NULL);
    }

    fuzz_assert((int) req->kind >= KEFU_LR_ACCOUNT
                && req->kind <= KEFU_LR_PHONE);
    fuzz_assert((int) req->reason >= KEFU_LR_LOST
                && req->reason <= KEFU_LR_FRAUD);

    v = fuzz_member(body, "kind");
    fuzz_assert(v != NULL && v->type == KEFU_JSON_STRING);
    fuzz_assert(fuzz_str_eq(&v->str, kefu_lr_kind_name(req->kind)));

    v = fuzz_member(body, "reason");
    fuzz_assert(v != NULL && v->type == KEFU_JSON_STRING);
    fuzz_assert(fuzz_str_eq(&v->str, kefu_lr_reason_name(req->reason)));

    v = fuzz_member(body, "card_last4");

    if (req->kind == KEFU_LR_CARD) {
        fuzz_assert(v != NULL && v->type == KEFU_JSON_STRING);
        fuzz_assert(req->card_last4.len == 4);
        fuzz_assert(req->card_last4.data == v->str.data
                    && v->str.len == 4);

        for (k = 0; k < 4; k++) {
            fuzz_assert(req->card_last4.data[k] >= '0'
                        && req->card_last4.data[k] <= '9');
        }

    } else {
        fuzz_assert(v == NULL);
        fuzz_assert(req->card_last4.len == 0);
    }

    v = fuzz_member(body, "police_report");
    fuzz_assert(v == NULL || v->type == KEFU_JSON_BOOL);
    fuzz_assert(req->police_report == (v != NULL && v->boolean));

    v = fuzz_member(body, "note");

    if (v == NULL) {
        fuzz_assert(req->note.len == 0);

    } else {
        fuzz_assert(v->type == KEFU_JSON_STRING);
        fuzz_assert(req->note.len == v->str.len);
        fuzz_assert(req->note.len == 0 || req->note.data == v->str.data);
        fuzz_assert(kefu_utf8_length(v->str.data, v->str.len)
                    <= KEFU_LR_NOTE_MAX);
    }
}


/* the canonical form as the body gives it */
static void
fuzz_expected(const kefu_json_t *body, kefu_buf_t *b)
{
    const kefu_json_t  *v;

    kefu_buf_adds(b, "kefu-loss-report-v1\nkind=");
    v = fuzz_member(body, "kind");
    kefu_buf_add(b, v->str.data, v->str.len);

    kefu_buf_adds(b, "\nreason=");
    v = fuzz_member(body, "reason");
    kefu_buf_add(b, v->str.data, v->str.len);

    kefu_buf_adds(b, "\ncard_last4=");
    v = fuzz_member(body, "card_last4");
    if (v != NULL) {
        kefu_buf_add(b, v->str.data, v->str.len);
    }

    v = fuzz_member(body, "police_report");
    kefu_buf_adds(b, (v != NULL && v->boolean) ? "\npolice_report=1"
                                               : "\npolice_report=0");

    v = fuzz_member(body, "note");
    kefu_buf_addf(b, "\nnote=%zu:", v != NULL ? v->str.len : 0);
    if (v != NULL) {
        kefu_buf_add(b, v->str.data, v->str.len);
    }
}


/* the same request in another spelling: reversed keys, escapes, defaults */
static void
fuzz_respell(const kefu_json_t *body, const kefu_lr_req_t *req,
    kefu_buf_t *b)
{
    kefu_buf_adds(b, " {\n\t");
    fuzz_add_escaped(b, (const unsigned char *) "note", 4);
    kefu_buf_adds(b, " : ");
    fuzz_add_escaped(b, req->note.data, req->note.len);
    kefu_buf_adds(b, " ,\r\n");
    fuzz_add_escaped(b, (const unsigned char *) "police_report", 13);
    kefu_buf_adds(b, req->police_report ? ":true," : ":false,");

    if (req->card_last4.len) {
        fuzz_add_escaped(b, (const unsigned char *) "card_last4", 10);
        kefu_buf_adds(b, ":");
        fuzz_add_escaped(b, req->card_last4.data, req->card_last4.len);
        kefu_buf_adds(b, ",");

    } else if (body->n & 1) {
        /* null is as good as absent */
        kefu_buf_adds(b, "\"card_last4\":null,");
    }

    fuzz_add_escaped(b, (const unsigned char *) "reason", 6);
    kefu_buf_adds(b, ":");
    fuzz_add_escaped(b, (const unsigned char *) kefu_lr_reason_name(
                         req->reason), strlen(kefu_lr_reason_name(
                                                  req->reason)));
    kefu_buf_adds(b, ",");
    fuzz_add_escaped(b, (const unsigned char *) "kind", 4);
    kefu_buf_adds(b, ":");
    fuzz_add_escaped(b, (const unsigned char *) kefu_lr_kind_name(req->kind),
                     strlen(kefu_lr_kind_name(req->kind)));
    kefu_buf_adds(b, "}\n");
}


static void
fuzz_passed(kefu_alloc_t *a, const kefu_json_t *body,
    const kefu_lr_req_t *req)
{
    char            err[128], hex[KEFU_LR_FP_LEN + 1],
                    hex2[KEFU_LR_FP_LEN + 1];
    size_t          i;
    kefu_buf_t      b, e;
    kefu_json_t    *body2;
    kefu_lr_req_t   req2;

    fuzz_check_req(body, req);

    kefu_buf_init(&b, a, 64);
    kefu_lr_canonical(req, &b);
    kefu_buf_init(&e, a, 64);
    fuzz_expected(body, &e);
    fuzz_assert(!b.failed && !e.failed);

    if (b.len != e.len || memcmp(b.data, e.data, b.len) != 0) {
        fprintf(stderr, "canonical form:\n%.*s\nexpected:\n%.*s\n",
                (int) b.len, (char *) b.data, (int) e.len, (char *) e.data);
        abort();
    }

    memset(hex, 'x', sizeof(hex));
    fuzz_assert(kefu_lr_fingerprint(req, a, hex) == KEFU_OK);
    fuzz_assert(hex[KEFU_LR_FP_LEN] == '\0');

    for (i = 0; i < KEFU_LR_FP_LEN; i++) {
        fuzz_assert((hex[i] >= '0' && hex[i] <= '9')
                    || (hex[i] >= 'a' && hex[i] <= 'f'));
    }

    /* another spelling of the same request */
    kefu_buf_init(&b, a, 256);
    fuzz_respell(body, req, &b);
    fuzz_assert(!b.failed);

    body2 = kefu_json_parse(a, b.data, b.len, NULL, err, sizeof(err));
    if (body2 == NULL) {
        fprintf(stderr, "respelled body rejected: %s\n%.*s\n", err,
                (int) b.len, (char *) b.data);
        abort();
    }

    if (kefu_lr_parse(body2, &req2, err, sizeof(err)) != KEFU_OK) {
        fprintf(stderr, "respelled request refused: %s\n%.*s\n", err,
                (int) b.len, (char *) b.data);
        abort();
    }

    fuzz_assert(kefu_lr_fingerprint(&req2, a, hex2) == KEFU_OK);
    fuzz_assert(memcmp(hex, hex2, sizeof(hex)) == 0);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char            err[128];
    kefu_json_t    *body;
    kefu_arena_t    arena;
    kefu_lr_req_t   req;

    kefu_arena_init(&arena);

    body = kefu_json_parse(&arena.allocator, data, size, &fuzz_limits, err,
                           sizeof(err));

    if (body != NULL) {
        err[0] = '\0';
        memset(&req, 0xa5, sizeof(req));

        if (kefu_lr_parse(body, &req, err, sizeof(err)) == KEFU_OK) {
            fuzz_assert(body->type == KEFU_JSON_OBJECT);
            fuzz_passed(&arena.allocator, body, &req);

        } else {
            fuzz_assert(err[0] != '\0');
            fuzz_assert(memchr(err, '\0', sizeof(err)) != NULL);
        }
    }

    kefu_arena_free(&arena);

    return 0;
}
