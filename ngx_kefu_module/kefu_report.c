/*
 * ngx_kefu: loss reports, handoff priority and feedback turns without
 * nginx or Redis.
 */

#include <stdio.h>
#include <time.h>

#include <openssl/evp.h>

#include "kefu_report.h"
#include "kefu_validate.h"


static const char  *kefu_lr_kinds[] = { "account", "card", "phone", NULL };
static const char  *kefu_lr_reasons[] = { "lost", "stolen", "fraud", NULL };
static const char  *kefu_lr_statuses[] = { "received", "processing",
                                           "closed", NULL };
static const char  *kefu_prio_names[] = { "urgent", "high", "elevated",
                                          "normal" };


static const kefu_field_t  kefu_lr_fields[] = {
    { "kind", KEFU_F_STRING, 1, 1, 16 },
    { "reason", KEFU_F_STRING, 1, 1, 16 },
    { "card_last4", KEFU_F_STRING, 0, 1, 8 },
    { "police_report", KEFU_F_BOOL, 0, 0, 0 },
    { "note", KEFU_F_STRING, 0, 0, KEFU_LR_NOTE_MAX },
    { NULL, 0, 0, 0, 0 }
};


static int kefu_lr_name_index(const char **names, const unsigned char *s,
    size_t len);
static int64_t kefu_lr_int(const kefu_str_t *s);
static int kefu_str_is(const kefu_str_t *s, const char *lit);


int
kefu_idem_key_valid(const unsigned char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > KEFU_IDEM_KEY_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            return 0;
        }
    }

    return 1;
}


static int
kefu_lr_name_index(const char **names, const unsigned char *s, size_t len)
{
    int  i;

    for (i = 0; names[i]; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
            return i;
        }
    }

    return -1;
}


int
kefu_lr_kind(const unsigned char *s, size_t len)
{
    return kefu_lr_name_index(kefu_lr_kinds, s, len);
}


int
kefu_lr_reason(const unsigned char *s, size_t len)
{
    return kefu_lr_name_index(kefu_lr_reasons, s, len);
}


int
kefu_lr_status(const unsigned char *s, size_t len)
{
    return kefu_lr_name_index(kefu_lr_statuses, s, len);
}


const char *
kefu_lr_kind_name(kefu_lr_kind_e kind)
{
    return kefu_lr_kinds[kind];
}


const char *
kefu_lr_reason_name(kefu_lr_reason_e reason)
{
    return kefu_lr_reasons[reason];
}


const char *
kefu_lr_status_name(kefu_lr_status_e status)
{
    return kefu_lr_statuses[status];
}


int
kefu_lr_parse(const kefu_json_t *body, kefu_lr_req_t *req, char *err,
    size_t errlen)
{
    int                 i;
    size_t              k;
    const kefu_json_t  *v[5];

    memset(req, 0, sizeof(kefu_lr_req_t));

    if (kefu_validate(body, kefu_lr_fields, v, err, errlen) != KEFU_OK) {
        return KEFU_ERROR;
    }

    i = kefu_lr_kind(v[0]->str.data, v[0]->str.len);
    if (i < 0) {
        snprintf(err, errlen, "field \"kind\" must be \"account\", \"card\" "
                 "or \"phone\"");
        return KEFU_ERROR;
    }

    req->kind = (kefu_lr_kind_e) i;

    i = kefu_lr_reason(v[1]->str.data, v[1]->str.len);
    if (i < 0) {
        snprintf(err, errlen, "field \"reason\" must be \"lost\", "
                 "\"stolen\" or \"fraud\"");
        return KEFU_ERROR;
    }

    req->reason = (kefu_lr_reason_e) i;

    if (v[2] != NULL) {
        if (req->kind != KEFU_LR_CARD) {
            snprintf(err, errlen, "field \"card_last4\" is only allowed "
                     "with kind \"card\"");
            return KEFU_ERROR;
        }

        if (v[2]->str.len != 4) {
            goto digits;
        }

        for (k = 0; k < 4; k++) {
            if (v[2]->str.data[k] < '0' || v[2]->str.data[k] > '9') {
                goto digits;
            }
        }

        req->card_last4 = v[2]->str;

    } else if (req->kind == KEFU_LR_CARD) {
        snprintf(err, errlen, "field \"card_last4\" is required with kind "
                 "\"card\"");
        return KEFU_ERROR;
    }

    req->police_report = v[3] != NULL && v[3]->boolean;

    if (v[4] != NULL) {
        req->note = v[4]->str;
    }

    return KEFU_OK;

digits:

    snprintf(err, errlen, "field \"card_last4\" must be exactly 4 digits");
    return KEFU_ERROR;
}


/*
 * One line per field in a fixed order; the note, the only free text, is
 * length-prefixed so that no note can imitate another field.  Defaults
 * are written out, so {"police_report": false} equals its absence.
 */

void
kefu_lr_canonical(const kefu_lr_req_t *req, kefu_buf_t *out)
{
    kefu_buf_addf(out, "kefu-loss-report-v1\nkind=%s\nreason=%s\n"
                  "card_last4=%.*s\npolice_report=%d\nnote=%zu:",
                  kefu_lr_kinds[req->kind], kefu_lr_reasons[req->reason],
                  (int) req->card_last4.len,
                  req->card_last4.len ? (char *) req->card_last4.data : "",
                  req->police_report ? 1 : 0, req->note.len);

    if (req->note.len) {
        kefu_buf_add(out, req->note.data, req->note.len);
    }
}


int
kefu_lr_fingerprint(const kefu_lr_req_t *req, kefu_alloc_t *a, char *hex)
{
    size_t         i;
    unsigned int   n;
    kefu_buf_t     b;
    unsigned char  md[EVP_MAX_MD_SIZE];

    static const char  digits[] = "0123456789abcdef";

    kefu_buf_init(&b, a, 128 + req->note.len);
    kefu_lr_canonical(req, &b);

    if (b.failed
        || EVP_Digest(b.data, b.len, md, &n, EVP_sha256(), NULL) != 1
        || n != KEFU_LR_FP_LEN / 2)
    {
        return KEFU_ERROR;
    }

    for (i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0x0f];
    }

    hex[KEFU_LR_FP_LEN] = '\0';

    return KEFU_OK;
}


int
kefu_lr_change_ok(kefu_lr_kind_e kind, kefu_lr_reason_e reason,
    kefu_lr_status_e status, int frozen, int new_status, int new_frozen,
    const char **why)
{
    if (new_status >= 0 && new_status != (int) status) {
        if (status == KEFU_LR_CLOSED) {
            *why = "a closed report cannot be reopened";
            return KEFU_ERROR;
        }

        if (new_status < (int) status) {
            *why = "status only moves forward: received, processing, "
                   "closed";
            return KEFU_ERROR;
        }
    }

    if (new_frozen >= 0 && new_frozen != frozen) {
        if (new_frozen == 0 && kind == KEFU_LR_CARD
            && reason != KEFU_LR_FRAUD)
        {
            *why = "a card reported lost or stolen stays blocked";
            return KEFU_ERROR;
        }

        if (new_frozen == 1
            && (status == KEFU_LR_CLOSED || new_status == KEFU_LR_CLOSED))
        {
            *why = "a closed report cannot freeze again";
            return KEFU_ERROR;
        }
    }

    return KEFU_OK;
}


static int64_t
kefu_lr_int(const kefu_str_t *s)
{
    size_t   i;
    int64_t  v;

    v = 0;

    for (i = 0; i < s->len && i < 18; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return 0;
        }

        v = v * 10 + (s->data[i] - '0');
    }

    return v;
}


static int
kefu_str_is(const kefu_str_t *s, const char *lit)
{
    return s->len == strlen(lit) && memcmp(s->data, lit, s->len) == 0;
}


int
kefu_lr_record_from_pairs(kefu_lr_record_t *rec, const kefu_str_t *kv,
    size_t n)
{
    size_t             i;
    const kefu_str_t  *k, *v;

    memset(rec, 0, sizeof(kefu_lr_record_t));

    for (i = 0; i < n; i++) {
        k = &kv[2 * i];
        v = &kv[2 * i + 1];

        if (kefu_str_is(k, "id")) {
            rec->id = *v;

        } else if (kefu_str_is(k, "user")) {
            rec->user = *v;

        } else if (kefu_str_is(k, "kind")) {
            rec->kind = *v;

        } else if (kefu_str_is(k, "reason")) {
            rec->reason = *v;

        } else if (kefu_str_is(k, "status")) {
            rec->status = *v;

        } else if (kefu_str_is(k, "card_last4")) {
            rec->card_last4 = *v;

        } else if (kefu_str_is(k, "note")) {
            rec->note = *v;

        } else if (kefu_str_is(k, "created_at")) {
            rec->created_at = kefu_lr_int(v);

        } else if (kefu_str_is(k, "updated_at")) {
            rec->updated_at = kefu_lr_int(v);

        } else if (kefu_str_is(k, "frozen")) {
            rec->frozen = kefu_str_is(v, "1");

        } else if (kefu_str_is(k, "police_report")) {
            rec->police_report = kefu_str_is(v, "1");
        }
    }

    if (rec->id.len == 0 || rec->user.len == 0
        || kefu_lr_kind(rec->kind.data, rec->kind.len) < 0
        || kefu_lr_reason(rec->reason.data, rec->reason.len) < 0
        || kefu_lr_status(rec->status.data, rec->status.len) < 0)
    {
        return KEFU_ERROR;
    }

    return KEFU_OK;
}


void
kefu_lr_record_json(const kefu_lr_record_t *rec, int admin, kefu_buf_t *b)
{
    char  created[24], updated[24];

    kefu_iso8601(rec->created_at, created);
    kefu_iso8601(rec->updated_at ? rec->updated_at : rec->created_at,
                 updated);

    kefu_buf_adds(b, "{\"id\":");
    kefu_buf_add_json_str(b, rec->id.data, rec->id.len);
    kefu_buf_adds(b, ",\"status\":");
    kefu_buf_add_json_str(b, rec->status.data, rec->status.len);
    kefu_buf_addf(b, ",\"frozen\":%s,\"kind\":",
                  rec->frozen ? "true" : "false");
    kefu_buf_add_json_str(b, rec->kind.data, rec->kind.len);
    kefu_buf_adds(b, ",\"reason\":");
    kefu_buf_add_json_str(b, rec->reason.data, rec->reason.len);

    if (rec->card_last4.len) {
        kefu_buf_adds(b, ",\"card_last4\":");
        kefu_buf_add_json_str(b, rec->card_last4.data, rec->card_last4.len);
    }

    kefu_buf_addf(b, ",\"police_report\":%s",
                  rec->police_report ? "true" : "false");

    if (rec->note.len) {
        kefu_buf_adds(b, ",\"note\":");
        kefu_buf_add_json_str(b, rec->note.data, rec->note.len);
    }

    if (admin) {
        kefu_buf_adds(b, ",\"user\":");
        kefu_buf_add_json_str(b, rec->user.data, rec->user.len);
    }

    kefu_buf_addf(b, ",\"created_at\":\"%s\",\"updated_at\":\"%s\"}",
                  created, updated);
}


void
kefu_iso8601(int64_t t, char *buf)
{
    time_t     tt;
    struct tm  tm;

    tt = (time_t) t;

    if (gmtime_r(&tt, &tm) == NULL
        || strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
    {
        memcpy(buf, "1970-01-01T00:00:00Z", 21);
    }
}


kefu_prio_e
kefu_handoff_priority(const kefu_kb_t *kb, const kefu_session_t *s,
    const unsigned char *reason, size_t len)
{
    size_t       i, from;
    unsigned     intents;
    kefu_prio_e  prio;

    /* the last three turns say how the user feels now */
    intents = 0;
    from = s->nturns > 3 ? s->nturns - 3 : 0;

    for (i = from; i < s->nturns; i++) {
        intents |= kefu_kb_intents(kb, s->turns[i].q.data, s->turns[i].q.len);
    }

    if (reason != NULL && len) {
        intents |= kefu_kb_intents(kb, reason, len);
    }

    if (s->emergency || (intents & KEFU_INTENT_EMERGENCY)) {
        prio = KEFU_PRIO_URGENT;

    } else if (intents & KEFU_INTENT_ANGRY) {
        prio = KEFU_PRIO_HIGH;

    } else if ((intents & KEFU_INTENT_ANXIOUS) || s->fallbacks >= 2) {
        prio = KEFU_PRIO_ELEVATED;

    } else {
        prio = KEFU_PRIO_NORMAL;
    }

    return prio;
}


const char *
kefu_prio_name(kefu_prio_e prio)
{
    return kefu_prio_names[prio];
}


void
kefu_handoff_turns_json(const kefu_session_t *s, size_t max, kefu_buf_t *b)
{
    size_t              i, from;
    int64_t             first;
    const char         *type;
    const kefu_turn_t  *t;

    from = s->nturns > max ? s->nturns - max : 0;
    first = s->turn - (int64_t) s->nturns + 1;

    kefu_buf_adds(b, "[");

    for (i = from; i < s->nturns; i++) {
        t = &s->turns[i];

        switch (t->type) {
        case 'a':
            type = "answer";
            break;
        case 'c':
            type = "clarify";
            break;
        case 'f':
            type = "fallback";
            break;
        default:
            type = "handoff";
            break;
        }

        kefu_buf_addf(b, "%s{\"turn\":%lld,\"type\":\"%s\",\"q\":",
                      i > from ? "," : "", (long long) (first + (int64_t) i),
                      type);
        kefu_buf_add_json_str(b, t->q.data, t->q.len);

        if (t->faq.len) {
            kefu_buf_adds(b, ",\"faq_id\":");
            kefu_buf_add_json_str(b, t->faq.data, t->faq.len);
        }

        kefu_buf_adds(b, "}");
    }

    kefu_buf_adds(b, "]");
}


const kefu_turn_t *
kefu_session_turn(const kefu_session_t *s, int64_t turn)
{
    int64_t  first;

    first = s->turn - (int64_t) s->nturns + 1;

    if (turn < 1 || turn > s->turn || turn < first) {
        return NULL;
    }

    return &s->turns[turn - first];
}
