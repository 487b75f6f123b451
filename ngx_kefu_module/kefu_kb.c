/*
 * ngx_kefu: knowledge base loader, validator and queries.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kefu_json.h"
#include "kefu_kb.h"


#define KEFU_KB_MAX_STRING   (256 * 1024)
#define KEFU_KB_INTENT_TEXT  4096


typedef struct {
    kefu_alloc_t   *a;          /* the KB's memory */
    kefu_alloc_t   *t;          /* temporary memory of the build */
    const char     *name;
    char           *err;
    size_t          errlen;
    kefu_kb_t      *kb;
    long            faq;        /* FAQ being checked, -1 at top level */
    kefu_str_t      id;
} kefu_kb_ctx_t;


/* the built-in keyword lists, used when the KB brings none */

static const char  *kefu_kb_human_words[] = {
    "转人工", "人工客服", "人工服务", "找人工", "要人工", "接人工",
    "真人客服", "人工坐席", "转接客服", "人工台", NULL
};

static const char  *kefu_kb_emergency_words[] = {
    "被盗", "盗刷", "被骗", "诈骗", "骗了", "手机丢了", "手机丢失",
    "手机被偷", "钱包丢了", "卡丢了", "银行卡丢", "挂失", "被冒用",
    "不是我本人", "不是本人操作", "陌生设备登录", "异地登录", "被转走", NULL
};

static const char  *kefu_kb_angry_words[] = {
    "怎么还没", "为什么还没", "气死", "投诉", "垃圾", "骗子", "太差",
    "什么破", "坑人", "无语", "搞什么", "差评", "受够了", "有病", NULL
};

static const char  *kefu_kb_anxious_words[] = {
    "着急", "急死", "怎么办", "马上", "赶紧", "快点", "急用", "很急",
    "来不及", "救命", "担心", "害怕", "慌了", NULL
};

static const char  *kefu_kb_top_keys[] = {
    "version", "synonyms", "keywords", "welcome", "faqs", NULL
};

static const char  *kefu_kb_faq_keys[] = {
    "id", "question", "similar", "answer", "answers", "triggers",
    "actions", "follow_ups", "tags", "risk", NULL
};

static const char  *kefu_kb_keyword_keys[] = {
    "human", "emergency", "angry", "anxious", NULL
};

static const char  *kefu_kb_answer_keys[] = {
    "calm", "soothing", "reassuring", NULL
};

static const char  *kefu_kb_action_names[] = {
    "loss_report", "police_report", "handoff", NULL
};


static int kefu_kb_error(kefu_kb_ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


static int
kefu_kb_error(kefu_kb_ctx_t *c, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    if (c->errlen == 0) {
        return KEFU_ERROR;
    }

    if (c->faq < 0) {
        n = snprintf(c->err, c->errlen, "%s: ", c->name);

    } else if (c->id.len > 0) {
        n = snprintf(c->err, c->errlen, "%s: faq \"%.*s\" (#%ld): ",
                     c->name, (int) c->id.len, (char *) c->id.data, c->faq);

    } else {
        n = snprintf(c->err, c->errlen, "%s: faq #%ld: ", c->name, c->faq);
    }

    if (n < 0 || (size_t) n >= c->errlen) {
        return KEFU_ERROR;
    }

    va_start(ap, fmt);
    (void) vsnprintf(c->err + n, c->errlen - n, fmt, ap);
    va_end(ap);

    return KEFU_ERROR;
}


static int
kefu_kb_keys(kefu_kb_ctx_t *c, const kefu_json_t *obj, const char **allowed,
    const char *where)
{
    size_t  i, j;

    for (i = 0; i < obj->n; i++) {
        /* "_comment" style keys are annotations */
        if (obj->keys[i].len > 0 && obj->keys[i].data[0] == '_') {
            continue;
        }

        for (j = 0; allowed[j] != NULL; j++) {
            if (strlen(allowed[j]) == obj->keys[i].len
                && memcmp(allowed[j], obj->keys[i].data, obj->keys[i].len)
                   == 0)
            {
                break;
            }
        }

        if (allowed[j] == NULL) {
            return kefu_kb_error(c, "unknown key \"%.*s\" in %s",
                                 (int) (obj->keys[i].len > 64
                                        ? 64 : obj->keys[i].len),
                                 (char *) obj->keys[i].data, where);
        }
    }

    return KEFU_OK;
}


/* Checks a JSON string and copies it into the KB's memory. */
static int
kefu_kb_str(kefu_kb_ctx_t *c, const kefu_json_t *v, const char *what,
    int required, kefu_str_t *out)
{
    out->len = 0;
    out->data = (unsigned char *) "";

    if (v == NULL) {
        if (required) {
            return kefu_kb_error(c, "missing %s", what);
        }

        return KEFU_OK;
    }

    if (v->type != KEFU_JSON_STRING) {
        return kefu_kb_error(c, "%s is not a string", what);
    }

    if (!kefu_utf8_valid(v->str.data, v->str.len)) {
        return kefu_kb_error(c, "invalid UTF-8 in %s", what);
    }

    if (memchr(v->str.data, '\0', v->str.len) != NULL) {
        return kefu_kb_error(c, "NUL character in %s", what);
    }

    if (required && v->str.len == 0) {
        return kefu_kb_error(c, "empty %s", what);
    }

    out->data = kefu_alloc(c->a, v->str.len + 1);
    if (out->data == NULL) {
        return kefu_kb_error(c, "out of memory");
    }

    memcpy(out->data, v->str.data, v->str.len);
    out->data[v->str.len] = '\0';
    out->len = v->str.len;

    return KEFU_OK;
}


/* An optional array of non-empty strings. */
static int
kefu_kb_strs(kefu_kb_ctx_t *c, const kefu_json_t *v, const char *what,
    kefu_str_t **out, size_t *n)
{
    size_t  i;

    *out = NULL;
    *n = 0;

    if (v == NULL) {
        return KEFU_OK;
    }

    if (v->type != KEFU_JSON_ARRAY) {
        return kefu_kb_error(c, "%s is not an array", what);
    }

    if (v->n == 0) {
        return KEFU_OK;
    }

    *out = kefu_alloc(c->a, v->n * sizeof(kefu_str_t));
    if (*out == NULL) {
        return kefu_kb_error(c, "out of memory");
    }

    for (i = 0; i < v->n; i++) {
        if (kefu_kb_str(c, v->items[i], what, 1, &(*out)[i]) != KEFU_OK) {
            return KEFU_ERROR;
        }
    }

    *n = v->n;

    return KEFU_OK;
}


static int
kefu_kb_id_ok(const kefu_str_t *id)
{
    size_t         i;
    unsigned char  ch;

    if (id->len == 0 || id->len > KEFU_KB_MAX_ID) {
        return 0;
    }

    for (i = 0; i < id->len; i++) {
        ch = id->data[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'
              || ch == ':' || ch == '-'))
        {
            return 0;
        }
    }

    return 1;
}


static uint32_t
kefu_kb_hash(const unsigned char *s, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ s[i]) * 16777619u;
    }

    return h ^ (h >> 16);
}


long
kefu_kb_find(const kefu_kb_t *kb, const unsigned char *id, size_t len)
{
    uint32_t            slot, v;
    const kefu_str_t   *fid;

    if (kb->id_slots == NULL) {
        return -1;
    }

    slot = kefu_kb_hash(id, len) & kb->id_mask;

    for ( ;; ) {
        v = kb->id_slots[slot];

        if (v == 0) {
            return -1;
        }

        fid = &kb->faqs[v - 1].id;

        if (fid->len == len && memcmp(fid->data, id, len) == 0) {
            return (long) v - 1;
        }

        slot = (slot + 1) & kb->id_mask;
    }
}


/* Normalises keywords for matching; an empty result is an error. */
static int
kefu_kb_words(kefu_kb_ctx_t *c, const kefu_json_t *v, const char *what,
    const char **defaults, kefu_wordlist_t *out)
{
    long            l;
    size_t          i, n;
    kefu_str_t     *raw;

    raw = NULL;
    n = 0;

    if (v != NULL) {
        if (kefu_kb_strs(c, v, what, &raw, &n) != KEFU_OK) {
            return KEFU_ERROR;
        }

    } else {
        while (defaults[n] != NULL) {
            n++;
        }
    }

    out->n = 0;
    out->words = kefu_alloc(c->a, (n + 1) * sizeof(kefu_str_t));
    if (out->words == NULL) {
        return kefu_kb_error(c, "out of memory");
    }

    for (i = 0; i < n; i++) {
        kefu_str_t  w;

        if (raw != NULL) {
            w = raw[i];

        } else {
            w.data = (unsigned char *) defaults[i];
            w.len = strlen(defaults[i]);
        }

        out->words[out->n].data = kefu_alloc(c->a, w.len + 1);
        if (out->words[out->n].data == NULL) {
            return kefu_kb_error(c, "out of memory");
        }

        l = kefu_text_normalize(w.data, w.len, out->words[out->n].data);

        if (l <= 0) {
            return kefu_kb_error(c, "keyword \"%.*s\" in %s has no letters",
                                 (int) (w.len > 64 ? 64 : w.len),
                                 (char *) w.data, what);
        }

        out->words[out->n].len = (size_t) l;
        out->n++;
    }

    return KEFU_OK;
}


static int
kefu_kb_synonyms(kefu_kb_ctx_t *c, const kefu_json_t *v)
{
    size_t            i, j, n;
    kefu_str_t        s;
    kefu_json_t      *g;
    kefu_syn_pair_t  *pairs;

    n = 0;

    if (v != NULL) {
        if (v->type != KEFU_JSON_ARRAY) {
            return kefu_kb_error(c, "synonyms is not an array");
        }

        for (i = 0; i < v->n; i++) {
            g = v->items[i];

            if (g->type != KEFU_JSON_ARRAY || g->n < 2) {
                return kefu_kb_error(c, "synonyms group #%zu is not an"
                                     " array of 2 or more strings", i);
            }

            n += g->n - 1;
        }
    }

    pairs = kefu_alloc(c->t, (n + 1) * sizeof(kefu_syn_pair_t));
    if (pairs == NULL) {
        return kefu_kb_error(c, "out of memory");
    }

    n = 0;

    for (i = 0; v != NULL && i < v->n; i++) {
        g = v->items[i];

        for (j = 0; j < g->n; j++) {
            if (kefu_kb_str(c, g->items[j], "synonym", 1, &s) != KEFU_OK) {
                return KEFU_ERROR;
            }

            if (j == 0) {
                pairs[n].to = s;
                continue;
            }

            pairs[n].from = s;

            if (j + 1 < g->n) {
                pairs[n + 1].to = pairs[n].to;
            }

            n++;
        }
    }

    c->kb->syn = kefu_syn_build(c->a, pairs, n);
    if (c->kb->syn == NULL) {
        return kefu_kb_error(c, "out of memory");
    }

    return KEFU_OK;
}


static int
kefu_kb_triggers(kefu_kb_ctx_t *c, const kefu_json_t *v, kefu_faq_t *f)
{
    size_t           i, k;
    kefu_json_t     *t, *ev, *sc, *w;
    kefu_trigger_t  *tr;

    if (v == NULL) {
        return KEFU_OK;
    }

    if (v->type != KEFU_JSON_ARRAY) {
        return kefu_kb_error(c, "triggers is not an array");
    }

    if (v->n == 0) {
        return KEFU_OK;
    }

    f->triggers = kefu_alloc(c->a, v->n * sizeof(kefu_trigger_t));
    if (f->triggers == NULL) {
        return kefu_kb_error(c, "out of memory");
    }

    for (i = 0; i < v->n; i++) {
        t = v->items[i];
        tr = &f->triggers[i];

        if (t->type != KEFU_JSON_OBJECT) {
            return kefu_kb_error(c, "bad trigger #%zu: not an object", i);
        }

        for (k = 0; k < t->n; k++) {
            if (!(t->keys[k].len == 5
                  && (memcmp(t->keys[k].data, "event", 5) == 0
                      || memcmp(t->keys[k].data, "scene", 5) == 0))
                && !(t->keys[k].len == 6
                     && memcmp(t->keys[k].data, "weight", 6) == 0))
            {
                return kefu_kb_error(c, "bad trigger #%zu: unknown key"
                                     " \"%.*s\"", i,
                                     (int) (t->keys[k].len > 64
                                            ? 64 : t->keys[k].len),
                                     (char *) t->keys[k].data);
            }
        }

        ev = kefu_json_get(t, "event");
        sc = kefu_json_get(t, "scene");
        w = kefu_json_get(t, "weight");

        if ((ev == NULL) == (sc == NULL)) {
            return kefu_kb_error(c, "bad trigger #%zu: needs exactly one of"
                                 " \"event\" and \"scene\"", i);
        }

        if (kefu_kb_str(c, ev ? ev : sc, "trigger name", 1, &tr->name)
            != KEFU_OK)
        {
            return KEFU_ERROR;
        }

        tr->scene = sc != NULL;
        tr->weight = 1.0;

        if (w != NULL) {
            /* the comparison also rejects NaN */
            if (w->type != KEFU_JSON_NUMBER || !(w->number > 0)
                || w->number > 1e6)
            {
                return kefu_kb_error(c, "bad trigger #%zu: weight must be"
                                     " a number > 0", i);
            }

            tr->weight = w->number;
        }
    }

    f->ntriggers = v->n;

    return KEFU_OK;
}


static int
kefu_kb_actions(kefu_kb_ctx_t *c, const kefu_json_t *v, kefu_faq_t *f)
{
    size_t        i, j;
    kefu_json_t  *s;

    if (v == NULL) {
        return KEFU_OK;
    }

    if (v->type != KEFU_JSON_ARRAY) {
        return kefu_kb_error(c, "actions is not an array");
    }

    for (i = 0; i < v->n; i++) {
        s = v->items[i];

        if (s->type != KEFU_JSON_STRING) {
            return kefu_kb_error(c, "action #%zu is not a string", i);
        }

        for (j = 0; kefu_kb_action_names[j] != NULL; j++) {
            if (strlen(kefu_kb_action_names[j]) == s->str.len
                && memcmp(kefu_kb_action_names[j], s->str.data, s->str.len)
                   == 0)
            {
                break;
            }
        }

        if (kefu_kb_action_names[j] == NULL) {
            return kefu_kb_error(c, "unknown action \"%.*s\"",
                                 (int) (s->str.len > 64 ? 64 : s->str.len),
                                 kefu_utf8_valid(s->str.data, s->str.len)
                                 ? (char *) s->str.data : "?");
        }

        f->actions |= 1u << j;
    }

    return KEFU_OK;
}


/* A question of only punctuation or emoji could never be found. */
static int
kefu_kb_searchable(kefu_kb_ctx_t *c, const kefu_str_t *s)
{
    unsigned char  *buf;

    buf = kefu_alloc(c->t, s->len + 1);

    return buf != NULL && kefu_text_normalize(s->data, s->len, buf) > 0;
}


/* First pass over one FAQ: everything but references to other FAQs. */
static int
kefu_kb_faq(kefu_kb_ctx_t *c, const kefu_json_t *o, kefu_faq_t *f)
{
    kefu_json_t  *v, *ans;

    c->id.len = 0;

    if (o->type != KEFU_JSON_OBJECT) {
        return kefu_kb_error(c, "not an object");
    }

    v = kefu_json_get(o, "id");

    if (v == NULL) {
        return kefu_kb_error(c, "missing id");
    }

    if (kefu_kb_str(c, v, "id", 1, &f->id) != KEFU_OK) {
        return KEFU_ERROR;
    }

    if (!kefu_kb_id_ok(&f->id)) {
        return kefu_kb_error(c, "bad id (want 1-64 of A-Za-z0-9_.:-)");
    }

    c->id = f->id;

    if (kefu_kb_keys(c, o, kefu_kb_faq_keys, "faq") != KEFU_OK
        || kefu_kb_str(c, kefu_json_get(o, "question"), "question", 1,
                       &f->question) != KEFU_OK
        || kefu_kb_str(c, kefu_json_get(o, "answer"), "answer", 1,
                       &f->answer) != KEFU_OK
        || kefu_kb_strs(c, kefu_json_get(o, "similar"), "similar",
                        &f->similar, &f->nsimilar) != KEFU_OK
        || kefu_kb_strs(c, kefu_json_get(o, "tags"), "tags", &f->tags,
                        &f->ntags) != KEFU_OK
        || kefu_kb_triggers(c, kefu_json_get(o, "triggers"), f) != KEFU_OK
        || kefu_kb_actions(c, kefu_json_get(o, "actions"), f) != KEFU_OK)
    {
        return KEFU_ERROR;
    }

    if (!kefu_kb_searchable(c, &f->question)) {
        return kefu_kb_error(c, "question has no searchable text");
    }

    ans = kefu_json_get(o, "answers");

    if (ans != NULL) {
        if (ans->type != KEFU_JSON_OBJECT) {
            return kefu_kb_error(c, "answers is not an object");
        }

        if (kefu_kb_keys(c, ans, kefu_kb_answer_keys, "answers") != KEFU_OK
            || kefu_kb_str(c, kefu_json_get(ans, "calm"), "answers.calm", 0,
                           &f->calm) != KEFU_OK
            || kefu_kb_str(c, kefu_json_get(ans, "soothing"),
                           "answers.soothing", 0, &f->soothing) != KEFU_OK
            || kefu_kb_str(c, kefu_json_get(ans, "reassuring"),
                           "answers.reassuring", 0, &f->reassuring)
               != KEFU_OK)
        {
            return KEFU_ERROR;
        }
    }

    v = kefu_json_get(o, "risk");

    if (v != NULL) {
        if (v->type != KEFU_JSON_BOOL) {
            return kefu_kb_error(c, "risk is not a boolean");
        }

        f->risk = v->boolean ? 1 : 0;
    }

    return KEFU_OK;
}


/* Resolves an array of FAQ ids into indexes. */
static int
kefu_kb_refs(kefu_kb_ctx_t *c, const kefu_json_t *v, const char *what,
    uint32_t **out, size_t *n)
{
    long          k;
    size_t        i;
    kefu_json_t  *s;

    *out = NULL;
    *n = 0;

    if (v == NULL) {
        return KEFU_OK;
    }

    if (v->type != KEFU_JSON_ARRAY) {
        return kefu_kb_error(c, "%s is not an array", what);
    }

    *out = kefu_alloc(c->a, (v->n + 1) * sizeof(uint32_t));
    if (*out == NULL) {
        return kefu_kb_error(c, "out of memory");
    }

    for (i = 0; i < v->n; i++) {
        s = v->items[i];

        if (s->type != KEFU_JSON_STRING) {
            return kefu_kb_error(c, "%s #%zu is not a string", what, i);
        }

        k = kefu_kb_find(c->kb, s->str.data, s->str.len);

        if (k < 0) {
            return kefu_kb_error(c, "unknown %s id \"%.*s\"", what,
                                 (int) (s->str.len > 64 ? 64 : s->str.len),
                                 kefu_utf8_valid(s->str.data, s->str.len)
                                 ? (char *) s->str.data : "?");
        }

        (*out)[i] = (uint32_t) k;
    }

    *n = v->n;

    return KEFU_OK;
}


static int
kefu_kb_topics(kefu_kb_ctx_t *c)
{
    size_t       i, size, slot;
    uint32_t    *slots, *first, v;
    kefu_kb_t   *kb;
    kefu_str_t  *tag, *other;

    kb = c->kb;

    kb->faq_topic = kefu_calloc(c->a, (kb->nfaqs + 1) * sizeof(uint32_t));
    if (kb->faq_topic == NULL) {
        return kefu_kb_error(c, "out of memory");
    }

    for (size = 64; size < kb->nfaqs * 2; size <<= 1) {
        /* void */
    }

    /* slot -> FAQ index + 1 of the first FAQ with that topic */
    slots = kefu_calloc(c->t, size * sizeof(uint32_t));
    first = kefu_alloc(c->t, (kb->nfaqs + 1) * sizeof(uint32_t));
    if (slots == NULL || first == NULL) {
        return kefu_kb_error(c, "out of memory");
    }

    for (i = 0; i < kb->nfaqs; i++) {
        if (kb->faqs[i].ntags == 0) {
            continue;
        }

        tag = &kb->faqs[i].tags[0];
        slot = kefu_kb_hash(tag->data, tag->len) & (size - 1);

        for ( ;; ) {
            v = slots[slot];

            if (v == 0) {
                slots[slot] = (uint32_t) i + 1;
                kb->faq_topic[i] = ++kb->ntopics;
                break;
            }

            other = &kb->faqs[v - 1].tags[0];

            if (other->len == tag->len
                && memcmp(other->data, tag->data, tag->len) == 0)
            {
                kb->faq_topic[i] = kb->faq_topic[v - 1];
                break;
            }

            slot = (slot + 1) & (size - 1);
        }
    }

    return KEFU_OK;
}


static kefu_kb_t *
kefu_kb_build(kefu_kb_ctx_t *c, const unsigned char *buf, size_t len)
{
    char                   jerr[256];
    size_t                 i, j, size, slot;
    kefu_kb_t             *kb;
    kefu_faq_t            *f;
    kefu_json_t           *root, *v, *faqs, *kw;
    kefu_json_limits_t     lim;
    kefu_index_builder_t  *b;

    if (len > KEFU_KB_MAX_FILE) {
        kefu_kb_error(c, "file too large (%zu bytes, limit %d)", len,
                      KEFU_KB_MAX_FILE);
        return NULL;
    }

    lim.max_depth = 8;
    lim.max_members = 1 << 22;
    lim.max_string = KEFU_KB_MAX_STRING;
    lim.max_nodes = 1 << 25;

    root = kefu_json_parse(c->t, buf, len, &lim, jerr, sizeof(jerr));
    if (root == NULL) {
        kefu_kb_error(c, "invalid JSON: %s", jerr);
        return NULL;
    }

    if (root->type != KEFU_JSON_OBJECT) {
        kefu_kb_error(c, "top level is not an object");
        return NULL;
    }

    kb = kefu_calloc(c->a, sizeof(kefu_kb_t));
    if (kb == NULL) {
        kefu_kb_error(c, "out of memory");
        return NULL;
    }

    c->kb = kb;
    kb->file.len = strlen(c->name);
    kb->file.data = kefu_alloc(c->a, kb->file.len + 1);
    if (kb->file.data == NULL) {
        kefu_kb_error(c, "out of memory");
        return NULL;
    }

    memcpy(kb->file.data, c->name, kb->file.len + 1);

    if (kefu_kb_keys(c, root, kefu_kb_top_keys, "the top level") != KEFU_OK
        || kefu_kb_str(c, kefu_json_get(root, "version"), "version", 1,
                       &kb->version) != KEFU_OK
        || kefu_kb_synonyms(c, kefu_json_get(root, "synonyms")) != KEFU_OK)
    {
        return NULL;
    }

    kw = kefu_json_get(root, "keywords");

    if (kw != NULL && kw->type != KEFU_JSON_OBJECT) {
        kefu_kb_error(c, "keywords is not an object");
        return NULL;
    }

    if ((kw != NULL
         && kefu_kb_keys(c, kw, kefu_kb_keyword_keys, "keywords") != KEFU_OK)
        || kefu_kb_words(c, kw ? kefu_json_get(kw, "human") : NULL,
                         "keywords.human", kefu_kb_human_words, &kb->human)
           != KEFU_OK
        || kefu_kb_words(c, kw ? kefu_json_get(kw, "emergency") : NULL,
                         "keywords.emergency", kefu_kb_emergency_words,
                         &kb->emergency) != KEFU_OK
        || kefu_kb_words(c, kw ? kefu_json_get(kw, "angry") : NULL,
                         "keywords.angry", kefu_kb_angry_words, &kb->angry)
           != KEFU_OK
        || kefu_kb_words(c, kw ? kefu_json_get(kw, "anxious") : NULL,
                         "keywords.anxious", kefu_kb_anxious_words,
                         &kb->anxious) != KEFU_OK)
    {
        return NULL;
    }

    faqs = kefu_json_get(root, "faqs");

    if (faqs == NULL) {
        kefu_kb_error(c, "missing faqs");
        return NULL;
    }

    if (faqs->type != KEFU_JSON_ARRAY) {
        kefu_kb_error(c, "faqs is not an array");
        return NULL;
    }

    if (faqs->n == 0) {
        kefu_kb_error(c, "faqs is empty");
        return NULL;
    }

    kb->nfaqs = faqs->n;
    kb->faqs = kefu_calloc(c->a, faqs->n * sizeof(kefu_faq_t));

    for (size = 64; size < faqs->n * 2; size <<= 1) {
        /* void */
    }

    kb->id_mask = (uint32_t) (size - 1);
    kb->id_slots = kefu_calloc(c->a, size * sizeof(uint32_t));

    if (kb->faqs == NULL || kb->id_slots == NULL) {
        kefu_kb_error(c, "out of memory");
        return NULL;
    }

    for (i = 0; i < faqs->n; i++) {
        c->faq = (long) i;
        f = &kb->faqs[i];

        if (kefu_kb_faq(c, faqs->items[i], f) != KEFU_OK) {
            return NULL;
        }

        slot = kefu_kb_hash(f->id.data, f->id.len) & kb->id_mask;

        while (kb->id_slots[slot] != 0) {
            if (kb->faqs[kb->id_slots[slot] - 1].id.len == f->id.len
                && memcmp(kb->faqs[kb->id_slots[slot] - 1].id.data,
                          f->id.data, f->id.len) == 0)
            {
                kefu_kb_error(c, "duplicate id (first at #%u)",
                              kb->id_slots[slot] - 1);
                return NULL;
            }

            slot = (slot + 1) & kb->id_mask;
        }

        kb->id_slots[slot] = (uint32_t) i + 1;

        kb->text_bytes += f->question.len + f->answer.len + f->calm.len
                          + f->soothing.len + f->reassuring.len;

        for (j = 0; j < f->nsimilar; j++) {
            kb->text_bytes += f->similar[j].len;
        }
    }

    /* references, now that every id is known */
    for (i = 0; i < faqs->n; i++) {
        c->faq = (long) i;
        c->id = kb->faqs[i].id;

        if (kefu_kb_refs(c, kefu_json_get(faqs->items[i], "follow_ups"),
                         "follow_up", &kb->faqs[i].follow_ups,
                         &kb->faqs[i].nfollow_ups) != KEFU_OK)
        {
            return NULL;
        }
    }

    c->faq = -1;
    c->id.len = 0;

    v = kefu_json_get(root, "welcome");

    if (kefu_kb_refs(c, v, "welcome", &kb->welcome, &kb->nwelcome)
        != KEFU_OK
        || kefu_kb_topics(c) != KEFU_OK)
    {
        return NULL;
    }

    b = kefu_index_builder_create(c->t, kb->syn, NULL);
    if (b == NULL) {
        kefu_kb_error(c, "out of memory");
        return NULL;
    }

    for (i = 0; i < kb->nfaqs; i++) {
        f = &kb->faqs[i];
        c->faq = (long) i;
        c->id = f->id;

        if (kefu_index_add(b, (uint32_t) i, f->question.data, f->question.len)
            != KEFU_OK)
        {
            kefu_kb_error(c, "cannot index the question");
            return NULL;
        }

        for (j = 0; j < f->nsimilar; j++) {
            if (kefu_index_add(b, (uint32_t) i, f->similar[j].data,
                               f->similar[j].len)
                != KEFU_OK)
            {
                kefu_kb_error(c, "cannot index similar #%zu", j);
                return NULL;
            }
        }
    }

    c->faq = -1;
    c->id.len = 0;

    kb->index = kefu_index_build(b, c->a);
    if (kb->index == NULL) {
        kefu_kb_error(c, "out of memory building the index");
        return NULL;
    }

    return kb;
}


kefu_kb_t *
kefu_kb_load_buf(kefu_alloc_t *a, const unsigned char *buf, size_t len,
    const char *name, char *err, size_t errlen)
{
    kefu_kb_t      *kb;
    kefu_arena_t    tmp;
    kefu_kb_ctx_t   c;

    kefu_arena_init(&tmp);

    memset(&c, 0, sizeof(c));
    c.a = a;
    c.t = &tmp.allocator;
    c.name = name ? name : "(buffer)";
    c.err = err;
    c.errlen = errlen;
    c.faq = -1;

    if (errlen > 0) {
        err[0] = '\0';
    }

    kb = kefu_kb_build(&c, buf, len);

    kefu_arena_free(&tmp);

    return kb;
}


kefu_kb_t *
kefu_kb_load(kefu_alloc_t *a, const char *path, char *err, size_t errlen)
{
    long            size;
    FILE           *f;
    kefu_kb_t      *kb;
    kefu_arena_t    tmp;
    unsigned char  *buf;

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        fclose(f);
        return NULL;
    }

    if (size > KEFU_KB_MAX_FILE) {
        snprintf(err, errlen, "%s: file too large (%ld bytes, limit %d)",
                 path, size, KEFU_KB_MAX_FILE);
        fclose(f);
        return NULL;
    }

    kefu_arena_init(&tmp);

    buf = kefu_alloc(&tmp.allocator, (size_t) size + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        fclose(f);
        return NULL;
    }

    if (fread(buf, 1, (size_t) size, f) != (size_t) size) {
        snprintf(err, errlen, "%s: cannot read: %s", path,
                 ferror(f) ? strerror(errno) : "short read");
        fclose(f);
        kefu_arena_free(&tmp);
        return NULL;
    }

    fclose(f);

    kb = kefu_kb_load_buf(a, buf, (size_t) size, path, err, errlen);

    kefu_arena_free(&tmp);

    return kb;
}


kefu_search_scratch_t *
kefu_kb_scratch_create(kefu_alloc_t *a, const kefu_kb_t *kb)
{
    return kefu_search_scratch_create(a, kefu_index_ndocs(kb->index));
}


uint32_t
kefu_kb_ndocs(const kefu_kb_t *kb)
{
    return kefu_index_ndocs(kb->index);
}


int
kefu_kb_search(const kefu_kb_t *kb, kefu_search_scratch_t *s,
    const unsigned char *q, size_t len, long prev_faq, kefu_hit_t *hits,
    size_t k)
{
    const kefu_faq_t   *f;
    kefu_search_ctx_t   ctx;

    if (prev_faq < 0 || (size_t) prev_faq >= kb->nfaqs) {
        return kefu_index_search(kb->index, s, q, len, NULL, hits, k);
    }

    f = &kb->faqs[prev_faq];

    memset(&ctx, 0, sizeof(ctx));
    ctx.text = f->question.data;
    ctx.len = f->question.len;
    ctx.boost_faqs = f->follow_ups;
    ctx.nboost = f->nfollow_ups;
    ctx.faq_topic = kb->faq_topic;
    ctx.topic = kb->faq_topic[prev_faq];

    return kefu_index_search(kb->index, s, q, len, &ctx, hits, k);
}


static int
kefu_kb_contains(const unsigned char *text, size_t len,
    const kefu_wordlist_t *wl)
{
    size_t               i;
    const unsigned char  *p, *end;
    const kefu_str_t     *w;

    for (i = 0; i < wl->n; i++) {
        w = &wl->words[i];

        if (w->len == 0 || w->len > len) {
            continue;
        }

        end = text + len - w->len;

        for (p = text; p <= end; p++) {
            p = memchr(p, w->data[0], (size_t) (end - p) + 1);

            if (p == NULL) {
                break;
            }

            if (memcmp(p, w->data, w->len) == 0) {
                return 1;
            }
        }
    }

    return 0;
}


unsigned
kefu_kb_intents(const kefu_kb_t *kb, const unsigned char *text, size_t len)
{
    long           n;
    size_t         i, run, maxrun;
    unsigned       r;
    unsigned char  norm[KEFU_KB_INTENT_TEXT];

    r = 0;

    /* raw cues: a run of 2+ exclamation marks (ASCII or full-width) */
    run = 0;
    maxrun = 0;

    for (i = 0; i < len; i++) {
        if (text[i] == '!') {
            run++;

        } else if (i + 2 < len && text[i] == 0xef && text[i + 1] == 0xbc
                   && text[i + 2] == 0x81)
        {
            run++;
            i += 2;

        } else if (text[i] != ' ') {
            run = 0;
        }

        if (run > maxrun) {
            maxrun = run;
        }
    }

    if (maxrun >= 2) {
        r |= KEFU_INTENT_ANGRY;
    }

    /* long texts: the cues are in the first few kilobytes */
    if (len > sizeof(norm)) {
        len = sizeof(norm);

        while (len > 0 && (text[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    n = kefu_text_normalize(text, len, norm);
    if (n <= 0) {
        return r;
    }

    if (kefu_kb_contains(norm, (size_t) n, &kb->human)) {
        r |= KEFU_INTENT_HUMAN;
    }

    if (kefu_kb_contains(norm, (size_t) n, &kb->emergency)) {
        r |= KEFU_INTENT_EMERGENCY;
    }

    if (kefu_kb_contains(norm, (size_t) n, &kb->angry)) {
        r |= KEFU_INTENT_ANGRY;
    }

    if (kefu_kb_contains(norm, (size_t) n, &kb->anxious)) {
        r |= KEFU_INTENT_ANXIOUS;
    }

    return r;
}


kefu_emotion_e
kefu_kb_emotion(unsigned intents)
{
    if (intents & KEFU_INTENT_ANGRY) {
        return KEFU_EMOTION_ANGRY;
    }

    if (intents & KEFU_INTENT_ANXIOUS) {
        return KEFU_EMOTION_ANXIOUS;
    }

    return KEFU_EMOTION_CALM;
}


const kefu_str_t *
kefu_kb_answer(const kefu_kb_t *kb, uint32_t faq, kefu_emotion_e emotion)
{
    const kefu_faq_t  *f;

    if (faq >= kb->nfaqs) {
        return NULL;
    }

    f = &kb->faqs[faq];

    switch (emotion) {

    case KEFU_EMOTION_ANGRY:
        if (f->soothing.len > 0) {
            return &f->soothing;
        }

        break;

    case KEFU_EMOTION_ANXIOUS:
        if (f->reassuring.len > 0) {
            return &f->reassuring;
        }

        if (f->soothing.len > 0) {
            return &f->soothing;
        }

        break;

    default:
        if (f->calm.len > 0) {
            return &f->calm;
        }

        break;
    }

    return &f->answer;
}


const char *
kefu_kb_action_name(unsigned action)
{
    switch (action) {

    case KEFU_ACT_LOSS_REPORT:
        return kefu_kb_action_names[0];

    case KEFU_ACT_POLICE_REPORT:
        return kefu_kb_action_names[1];

    case KEFU_ACT_HANDOFF:
        return kefu_kb_action_names[2];

    default:
        return NULL;
    }
}
