/*
 * ngx_kefu: session context encoding.
 */

#include "kefu_session.h"


static int kefu_session_str(kefu_json_t *v, kefu_str_t *out);


void
kefu_session_init(kefu_session_t *s)
{
    memset(s, 0, sizeof(kefu_session_t));
}


static int
kefu_session_str(kefu_json_t *v, kefu_str_t *out)
{
    if (v == NULL) {
        out->len = 0;
        out->data = (unsigned char *) "";
        return KEFU_OK;
    }

    if (v->type != KEFU_JSON_STRING) {
        return KEFU_ERROR;
    }

    *out = v->str;
    return KEFU_OK;
}


int
kefu_session_decode(kefu_alloc_t *a, const unsigned char *buf, size_t len,
    kefu_session_t *s)
{
    char                 err[64];
    size_t               i;
    kefu_json_t         *root, *v, *t;
    kefu_turn_t         *turn;
    kefu_json_limits_t   limits = { 4, 64, 4096, 512 };

    kefu_session_init(s);

    root = kefu_json_parse(a, buf, len, &limits, err, sizeof(err));
    if (root == NULL || root->type != KEFU_JSON_OBJECT) {
        goto bad;
    }

    v = kefu_json_get(root, "turn");
    if (v == NULL || v->type != KEFU_JSON_NUMBER || !v->is_int) {
        goto bad;
    }

    s->turn = v->integer;

    v = kefu_json_get(root, "fb");
    s->fallbacks = (v && v->type == KEFU_JSON_NUMBER) ? v->integer : 0;

    v = kefu_json_get(root, "em");
    s->emergency = (v && v->type == KEFU_JSON_NUMBER) ? v->integer : 0;

    v = kefu_json_get(root, "ts");
    s->updated = (v && v->type == KEFU_JSON_NUMBER) ? v->integer : 0;

    if (kefu_session_str(kefu_json_get(root, "topic"), &s->topic)
        != KEFU_OK)
    {
        goto bad;
    }

    v = kefu_json_get(root, "pending");
    if (v != NULL) {
        if (v->type != KEFU_JSON_ARRAY) {
            goto bad;
        }

        for (i = 0; i < v->n && i < KEFU_SESSION_MAX_PENDING; i++) {
            if (kefu_session_str(v->items[i], &s->pending[i]) != KEFU_OK) {
                goto bad;
            }
        }

        s->npending = i;
    }

    v = kefu_json_get(root, "turns");
    if (v != NULL) {
        if (v->type != KEFU_JSON_ARRAY) {
            goto bad;
        }

        for (i = 0; i < v->n && s->nturns < KEFU_SESSION_MAX_TURNS; i++) {
            t = v->items[i];
            if (t->type != KEFU_JSON_OBJECT) {
                goto bad;
            }

            turn = &s->turns[s->nturns++];

            if (kefu_session_str(kefu_json_get(t, "q"), &turn->q) != KEFU_OK
                || kefu_session_str(kefu_json_get(t, "f"), &turn->faq)
                   != KEFU_OK
                || kefu_json_get(t, "t") == NULL
                || kefu_json_get(t, "t")->type != KEFU_JSON_STRING
                || kefu_json_get(t, "t")->str.len != 1)
            {
                goto bad;
            }

            turn->type = (char) kefu_json_get(t, "t")->str.data[0];
        }
    }

    return KEFU_OK;

bad:

    kefu_session_init(s);
    return KEFU_ERROR;
}


void
kefu_session_encode(const kefu_session_t *s, kefu_buf_t *out)
{
    size_t  i;

    kefu_buf_addf(out, "{\"turn\":%lld,\"fb\":%lld,\"em\":%lld,\"ts\":%lld,"
                  "\"topic\":", (long long) s->turn,
                  (long long) s->fallbacks, (long long) s->emergency,
                  (long long) s->updated);
    kefu_buf_add_json_str(out, s->topic.data, s->topic.len);
    kefu_buf_adds(out, ",\"pending\":[");

    for (i = 0; i < s->npending; i++) {
        if (i) {
            kefu_buf_adds(out, ",");
        }

        kefu_buf_add_json_str(out, s->pending[i].data, s->pending[i].len);
    }

    kefu_buf_adds(out, "],\"turns\":[");

    for (i = 0; i < s->nturns; i++) {
        kefu_buf_adds(out, i ? ",{\"q\":" : "{\"q\":");
        kefu_buf_add_json_str(out, s->turns[i].q.data, s->turns[i].q.len);
        kefu_buf_adds(out, ",\"f\":");
        kefu_buf_add_json_str(out, s->turns[i].faq.data,
                              s->turns[i].faq.len);
        kefu_buf_addf(out, ",\"t\":\"%c\"}", s->turns[i].type);
    }

    kefu_buf_adds(out, "]}");
}


void
kefu_session_add_turn(kefu_session_t *s, const unsigned char *q,
    size_t qlen, const kefu_str_t *faq, char type, size_t max)
{
    kefu_turn_t  *t;

    if (max == 0 || max > KEFU_SESSION_MAX_TURNS) {
        max = KEFU_SESSION_MAX_TURNS;
    }

    while (s->nturns >= max) {
        memmove(&s->turns[0], &s->turns[1],
                (s->nturns - 1) * sizeof(kefu_turn_t));
        s->nturns--;
    }

    if (qlen > KEFU_SESSION_MAX_Q) {
        qlen = KEFU_SESSION_MAX_Q;

        /* never split a UTF-8 sequence */
        while (qlen > 0 && (q[qlen] & 0xc0) == 0x80) {
            qlen--;
        }
    }

    t = &s->turns[s->nturns++];
    t->q.data = (unsigned char *) q;
    t->q.len = qlen;
    t->faq = *faq;
    t->type = type;
}
