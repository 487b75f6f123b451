/*
 * ngx_kefu: GET /v1/suggestions ("猜你关心") and the hot/asked counters
 * that /v1/ask keeps for it.
 *
 * One pipelined read: the user's trail summary (kefu:{t:u}:tsum, a few
 * short records of per-type counts kept by POST /v1/events, see
 * ngx_http_kefu_events.c; never the trail itself), the user's recently
 * asked FAQs and, at most once per kefu_stats_flush (1 s) per worker and
 * tenant, two generations of the tenant's hot questions (the same for
 * every user, and written by /v1/ask's workers at that pace anyway).  The ranking
 * itself is kefu_suggest() in the core.  Without Redis the answer is
 * still 200, from the scene, the last hot list this worker read and the
 * welcome questions, with "personalized": false.
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_events.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_suggest.h"
#include "kefu_event.h"
#include "kefu_hot.h"
#include "kefu_suggest.h"


#define NGX_HTTP_KEFU_HOT_TOP       32      /* per generation read */
#define NGX_HTTP_KEFU_ASKED_MAX     64      /* read */
#define NGX_HTTP_KEFU_SCENE_MAX     32
/* summary records read: all (at most 120, ngx_http_kefu_events.c) */
#define NGX_HTTP_KEFU_SUM_RECORDS   "-1"
/* the per-type entries of those records used */
#define NGX_HTTP_KEFU_SUM_MAX       2048


/* a tenant's hot questions as this worker last read them */
typedef struct {
    int64_t                     start;      /* the generation */
    ngx_msec_t                  read;       /* when */
    size_t                      n;
    kefu_suggest_hot_t          hot[2 * NGX_HTTP_KEFU_HOT_TOP];
    unsigned                    valid:1;
} ngx_http_kefu_hot_list_t;


typedef struct {
    ngx_str_t                   scene;
    ngx_uint_t                  limit;
    time_t                      now;
    int64_t                     hot_start;
    ngx_http_kefu_hot_list_t   *hot;
    ngx_uint_t                  ncmds;      /* 4, or 2 with a fresh list */
} ngx_http_kefu_suggest_t;


/* The worker's ranking state and hot lists (by tenant index);
 * allocated on first use, per cycle. */
static kefu_suggest_scratch_t    *ngx_http_kefu_suggest_scratch;
static ngx_cycle_t               *ngx_http_kefu_suggest_cycle;
static ngx_http_kefu_hot_list_t  *ngx_http_kefu_suggest_hots;
static ngx_cycle_t               *ngx_http_kefu_suggest_hots_cycle;


static ngx_int_t ngx_http_kefu_suggestions(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static void ngx_http_kefu_suggest_loaded(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_suggest_reply(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_suggest_t *sg,
    ngx_http_kefu_redis_reply_t **replies);
static ngx_int_t ngx_http_kefu_suggest_hot_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, int64_t start, ngx_str_t *key);
static ngx_int_t ngx_http_kefu_suggest_sums(ngx_http_request_t *r,
    ngx_http_kefu_redis_reply_t *rep, kefu_suggest_in_t *in);
static ngx_http_kefu_hot_list_t *ngx_http_kefu_suggest_hot_list(
    ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx);
static size_t ngx_http_kefu_suggest_hot(const kefu_kb_t *kb,
    ngx_http_kefu_redis_reply_t *rep, double factor, kefu_suggest_hot_t *hot,
    size_t nhot);


static ngx_http_kefu_route_t  ngx_http_kefu_suggest_routes[] = {
    { ngx_string("suggestions"), NGX_HTTP_GET, ngx_http_kefu_suggestions,
      1, 0, 0 },
    { ngx_null_string, 0, NULL, 0, 0, 0 }
};


const ngx_http_kefu_endpoint_t  ngx_http_kefu_suggest_endpoint = {
    ngx_http_kefu_suggest_routes,
    NULL, 0,
    NULL, NULL, NULL
};


static ngx_int_t
ngx_http_kefu_suggestions(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    ngx_int_t                    rc;
    ngx_str_t                    val, *a;
    ngx_http_kefu_tenant_t      *t;
    ngx_http_kefu_suggest_t     *sg;
    ngx_http_kefu_main_conf_t   *kmcf;
    ngx_http_kefu_redis_cmd_t   *cmds;

    t = ctx->tenant;

    sg = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_suggest_t));
    if (sg == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = sg;
    sg->now = ngx_time();

    if (ngx_http_kefu_query_uint(r, "limit",
                                 ngx_min(t->suggest_limit,
                                         KEFU_SUGGEST_MAX_LIMIT),
                                 KEFU_SUGGEST_MAX_LIMIT, &sg->limit)
        != NGX_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "limit must be an integer from "
                                        "1 to 20");
    }

    if (ngx_http_arg(r, (u_char *) "scene", 5, &val) == NGX_OK) {
        if (!kefu_event_type_valid(val.data, val.len,
                                   NGX_HTTP_KEFU_SCENE_MAX))
        {
            return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request",
                                            "scene must be 1 to 32 of "
                                            "[a-z0-9_.:-]");
        }

        sg->scene = val;
    }

    sg->hot_start = kefu_hot_generation(sg->now, t->suggest_hot_half_life);

    cmds = ngx_palloc(r->pool, 4 * sizeof(ngx_http_kefu_redis_cmd_t));
    a = ngx_pcalloc(r->pool, 22 * sizeof(ngx_str_t));
    if (cmds == NULL || a == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the trail's summary: a few records of per-type counts */
    ngx_str_set(&a[0], "LRANGE");
    ngx_str_set(&a[2], "0");
    ngx_str_set(&a[3], NGX_HTTP_KEFU_SUM_RECORDS);

    if (ngx_http_kefu_user_key(r, ctx, "tsum", &a[1]) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cmds[0].argc = 4;
    cmds[0].argv = &a[0];

    sg->hot = ngx_http_kefu_suggest_hot_list(r, ctx);
    if (sg->hot == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* hot questions: this generation and the previous one */
    ngx_str_set(&a[4], "ZREVRANGE");
    ngx_str_set(&a[6], "0");
    ngx_str_set(&a[8], "WITHSCORES");
    ngx_str_set(&a[9], "ZREVRANGE");
    a[11] = a[6];
    a[13] = a[8];

    if (ngx_http_kefu_suggest_hot_key(r, ctx, sg->hot_start, &a[5]) != NGX_OK
        || ngx_http_kefu_suggest_hot_key(r, ctx,
               sg->hot_start - t->suggest_hot_half_life * KEFU_HOT_GENERATION,
               &a[10])
           != NGX_OK
        || ngx_http_kefu_num(r, NGX_HTTP_KEFU_HOT_TOP - 1, &a[7]) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[12] = a[7];

    cmds[1].argc = 5;
    cmds[1].argv = &a[4];
    cmds[2].argc = 5;
    cmds[2].argv = &a[9];

    /* FAQs the user was answered within suggest_asked_window */
    ngx_str_set(&a[14], "ZRANGEBYSCORE");
    ngx_str_set(&a[17], "+inf");
    ngx_str_set(&a[18], "LIMIT");
    ngx_str_set(&a[19], "0");

    if (ngx_http_kefu_user_key(r, ctx, "asked", &a[15]) != NGX_OK
        || ngx_http_kefu_num(r, sg->now - t->suggest_asked_window, &a[16])
           != NGX_OK
        || ngx_http_kefu_num(r, NGX_HTTP_KEFU_ASKED_MAX, &a[20]) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cmds[3].argc = 7;
    cmds[3].argv = &a[14];
    sg->ncmds = 4;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    if (sg->hot->valid && sg->hot->start == sg->hot_start
        && ngx_current_msec - sg->hot->read < kmcf->stats_flush)
    {
        /* the list read less than an interval ago will do */
        cmds[1] = cmds[3];
        sg->ncmds = 2;
    }

    rc = ngx_http_kefu_redis_send(r, cmds, sg->ncmds,
                                  ngx_http_kefu_suggest_loaded, sg);
    if (rc == NGX_OK) {
        return NGX_DONE;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* NGX_DECLINED: Redis is down; nothing personal */
    return ngx_http_kefu_suggest_reply(r, ctx, sg, NULL);
}


static void
ngx_http_kefu_suggest_loaded(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    ngx_uint_t                i;
    ngx_http_kefu_ctx_t      *ctx;
    ngx_http_kefu_suggest_t  *sg = data;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    if (rc != NGX_OK || n != sg->ncmds) {
        replies = NULL;

    } else {
        for (i = 0; i < n; i++) {
            if (replies[i]->type == REDIS_REPLY_ERROR) {
                ngx_http_kefu_redis_log_reply(r, replies[i],
                                              "suggestions read", NULL);
            }
        }
    }

    ngx_http_finalize_request(r,
                              ngx_http_kefu_suggest_reply(r, ctx, data,
                                                          replies));
}


static ngx_int_t
ngx_http_kefu_suggest_sums(ngx_http_request_t *r,
    ngx_http_kefu_redis_reply_t *rep, kefu_suggest_in_t *in)
{
    size_t                        i, n, max;
    kefu_trail_sum_t             *sm;
    ngx_http_kefu_redis_reply_t  *rec;

    /* as many as the records hold, not the most there could be */
    max = ngx_min(ngx_http_kefu_sum_entries(rep), NGX_HTTP_KEFU_SUM_MAX);

    sm = ngx_palloc(r->pool, (max ? max : 1) * sizeof(kefu_trail_sum_t));
    if (sm == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < rep->elements && n < max; i++) {
        rec = rep->element[i];

        /* a damaged record costs what follows the damage in it only */
        if (rec->type == REDIS_REPLY_STRING
            && kefu_trail_sum_record(rec->str.data, rec->str.len, sm,
                                     max, &n)
               != KEFU_OK)
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "kefu: damaged trail summary record");
        }
    }

    in->sums = sm;
    in->nsums = n;

    return NGX_OK;
}


static kefu_suggest_scratch_t *
ngx_http_kefu_suggest_scratch_get(ngx_http_request_t *r, size_t nfaqs)
{
    kefu_alloc_t             alloc;
    kefu_suggest_scratch_t  *s;

    s = ngx_http_kefu_suggest_scratch;

    if (s != NULL && ngx_http_kefu_suggest_cycle == ngx_cycle
        && kefu_suggest_scratch_capacity(s) >= nfaqs)
    {
        return s;
    }

    if (s != NULL && ngx_http_kefu_suggest_cycle == ngx_cycle) {
        /* a larger KB than seen so far: grow once, for good */
        nfaqs = ngx_max(nfaqs, 2 * kefu_suggest_scratch_capacity(s));
    }

    alloc.alloc = ngx_http_kefu_pool_alloc;
    alloc.ctx = ngx_cycle->pool;

    s = kefu_suggest_scratch_create(&alloc, nfaqs);
    if (s == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kefu: no memory for the suggestion scratch");
        return NULL;
    }

    ngx_http_kefu_suggest_scratch = s;
    ngx_http_kefu_suggest_cycle = (ngx_cycle_t *) ngx_cycle;

    return s;
}


/* The worker's hot list of the request's tenant. */

static ngx_http_kefu_hot_list_t *
ngx_http_kefu_suggest_hot_list(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx)
{
    ngx_uint_t                  n;
    ngx_http_kefu_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    if (ngx_http_kefu_suggest_hots == NULL
        || ngx_http_kefu_suggest_hots_cycle != ngx_cycle)
    {
        n = kmcf->tenants.nelts;

        ngx_http_kefu_suggest_hots = ngx_pcalloc(ngx_cycle->pool,
                                         n * sizeof(ngx_http_kefu_hot_list_t));
        if (ngx_http_kefu_suggest_hots == NULL) {
            return NULL;
        }

        ngx_http_kefu_suggest_hots_cycle = (ngx_cycle_t *) ngx_cycle;
    }

    return &ngx_http_kefu_suggest_hots[ctx->tenant
                                       - (ngx_http_kefu_tenant_t *)
                                         kmcf->tenants.elts];
}


/* [member, score, member, score, ...] of one hot generation */

static size_t
ngx_http_kefu_suggest_hot(const kefu_kb_t *kb,
    ngx_http_kefu_redis_reply_t *rep, double factor, kefu_suggest_hot_t *hot,
    size_t nhot)
{
    long                          f;
    size_t                        i, j;
    double                        c;
    char                         *end;
    ngx_http_kefu_redis_reply_t  *m, *sc;

    if (rep->type != REDIS_REPLY_ARRAY) {
        return nhot;
    }

    for (i = 0; i + 1 < rep->elements; i += 2) {
        m = rep->element[i];
        sc = rep->element[i + 1];

        if (m->type != REDIS_REPLY_STRING || sc->type != REDIS_REPLY_STRING) {
            continue;
        }

        f = kefu_kb_find(kb, m->str.data, m->str.len);
        if (f < 0) {
            continue;       /* a FAQ gone from the KB since */
        }

        /* copied replies are NUL-terminated */
        c = strtod((char *) sc->str.data, &end);
        if (end == (char *) sc->str.data || !(c > 0)) {
            continue;
        }

        c *= factor;

        for (j = 0; j < nhot; j++) {
            if (hot[j].faq == (uint32_t) f) {
                break;
            }
        }

        if (j == nhot) {
            hot[nhot].faq = (uint32_t) f;
            hot[nhot++].count = 0;
        }

        hot[j].count += c;
    }

    return nhot;
}


static ngx_int_t
ngx_http_kefu_suggest_reply(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_suggest_t *sg, ngx_http_kefu_redis_reply_t **replies)
{
    long                          f;
    size_t                        i;
    int64_t                       h;
    uint32_t                     *asked;
    kefu_buf_t                    b;
    const kefu_kb_t              *kb;
    const kefu_faq_t             *faq;
    kefu_suggestion_t            *it;
    kefu_suggest_in_t             in;
    kefu_suggest_out_t           *out;
    kefu_suggest_params_t         p;
    ngx_http_kefu_hot_list_t     *hl;
    ngx_http_kefu_tenant_t       *t;
    kefu_suggest_scratch_t       *s;
    ngx_http_kefu_redis_reply_t  *rep;

    t = ctx->tenant;
    kb = t->kb;

    ngx_memzero(&in, sizeof(kefu_suggest_in_t));
    in.limit = sg->limit;
    in.scene.data = sg->scene.data;
    in.scene.len = sg->scene.len;

    if (replies != NULL) {
        /* the trail summary: records of per-type counts and times */
        rep = replies[0];
        in.now = (int64_t) sg->now;

        if (rep->type == REDIS_REPLY_ARRAY && rep->elements) {
            if (ngx_http_kefu_suggest_sums(r, rep, &in) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        asked = ngx_palloc(r->pool,
                           NGX_HTTP_KEFU_ASKED_MAX * sizeof(uint32_t));
        if (asked == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (sg->ncmds == 4) {
            /* a new hot list, kept for the worker's next second */
            hl = sg->hot;
            h = t->suggest_hot_half_life;

            hl->n = ngx_http_kefu_suggest_hot(kb, replies[1],
                        kefu_hot_factor(sg->now, h, sg->hot_start),
                        hl->hot, 0);
            hl->n = ngx_http_kefu_suggest_hot(kb, replies[2],
                        kefu_hot_factor(sg->now, h,
                                        sg->hot_start
                                        - h * KEFU_HOT_GENERATION),
                        hl->hot, hl->n);
            hl->start = sg->hot_start;
            hl->read = ngx_current_msec;
            hl->valid = 1;
        }

        rep = replies[sg->ncmds - 1];
        in.asked = asked;

        for (i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements
                    && in.nasked < NGX_HTTP_KEFU_ASKED_MAX; i++)
        {
            if (rep->element[i]->type != REDIS_REPLY_STRING) {
                continue;
            }

            f = kefu_kb_find(kb, rep->element[i]->str.data,
                             rep->element[i]->str.len);
            if (f >= 0) {
                asked[in.nasked++] = (uint32_t) f;
            }
        }
    }

    /* while Redis is down too: the last list of this generation */
    if (sg->hot->valid && sg->hot->start == sg->hot_start) {
        in.hot = sg->hot->hot;
        in.nhot = sg->hot->n;
    }

    p.half_life = (double) t->trail_half_life;
    p.scene_weight = t->suggest_scene_weight;
    p.hot_weight = t->suggest_hot_weight;
    p.risk_window = t->suggest_risk_window;
    p.per_topic = t->suggest_per_topic;

    out = ngx_palloc(r->pool, sizeof(kefu_suggest_out_t));
    s = ngx_http_kefu_suggest_scratch_get(r, kb->nfaqs);
    if (out == NULL || s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (kefu_suggest(t->suggest, s, &p, &in, out) != KEFU_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    kefu_buf_init(&b, &ctx->alloc, 256 + out->n * 256);
    kefu_buf_adds(&b, "{\"items\":[");

    for (i = 0; i < out->n; i++) {
        it = &out->items[i];
        faq = &kb->faqs[it->faq];

        kefu_buf_adds(&b, i ? ",{\"faq_id\":" : "{\"faq_id\":");
        kefu_buf_add_json_str(&b, faq->id.data, faq->id.len);
        kefu_buf_adds(&b, ",\"question\":");
        kefu_buf_add_json_str(&b, faq->question.data, faq->question.len);

        if (faq->ntags) {
            kefu_buf_adds(&b, ",\"topic\":");
            kefu_buf_add_json_str(&b, faq->tags[0].data, faq->tags[0].len);
        }

        kefu_buf_addf(&b, ",\"score\":%.4f,\"reason\":{\"type\":\"%s\"",
                      it->score, kefu_suggest_reason_name(it->reason));

        switch (it->reason) {

        case KEFU_REASON_RISK:
            kefu_buf_addf(&b, ",\"signal\":\"%s\"", it->signal);
            /* fall through */

        case KEFU_REASON_EVENT:
            kefu_buf_adds(&b, ",\"event\":");
            kefu_buf_add_json_str(&b, it->event.data, it->event.len);
            kefu_buf_addf(&b, ",\"age\":%lld", (long long) it->age);
            break;

        case KEFU_REASON_SCENE:
            kefu_buf_adds(&b, ",\"scene\":");
            kefu_buf_add_json_str(&b, it->event.data, it->event.len);
            break;

        default:
            break;
        }

        kefu_buf_adds(&b, "}}");
    }

    kefu_buf_addf(&b, "],\"personalized\":%s,\"risk\":",
                  out->personalized ? "true" : "false");

    if (out->risk != NULL) {
        kefu_buf_addf(&b, "\"%s\"", out->risk);

    } else {
        kefu_buf_adds(&b, "null");
    }

    kefu_buf_adds(&b, ",\"actions\":[");

    ngx_http_kefu_add_actions(&b, out->actions);

    kefu_buf_adds(&b, "]}\n");

    return ngx_http_kefu_send_json(r, NGX_HTTP_OK, &b);
}


/*
 * What /v1/ask writes for 猜你关心 when it answers with a FAQ (in its own
 * scripts, see ngx_http_kefu_ask.c): the hot counter of the current
 * generation, kefu:{t}:hot:<start> (see kefu_hot.h), its increment
 * and TTL; and the TTL of the user's recently asked set kefu:{t:u}:asked.
 */

ngx_int_t
ngx_http_kefu_suggest_hot_incr(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, time_t now, ngx_str_t *key, double *incr,
    time_t *ttl)
{
    int64_t                  start, g;
    ngx_http_kefu_tenant_t  *t;

    t = ctx->tenant;

    g = (int64_t) t->suggest_hot_half_life * KEFU_HOT_GENERATION;
    start = kefu_hot_generation(now, t->suggest_hot_half_life);

    *incr = kefu_hot_increment(now, t->suggest_hot_half_life, start);

    /* two generations are read; a third can go */
    *ttl = (time_t) (2 * g + 3600);

    return ngx_http_kefu_suggest_hot_key(r, ctx, start, key);
}


static ngx_int_t
ngx_http_kefu_suggest_hot_key(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    int64_t start, ngx_str_t *key)
{
    u_char  suffix[sizeof("hot:") + NGX_INT64_LEN];

    (void) ngx_sprintf(suffix, "hot:%L%Z", start);

    return ngx_http_kefu_tenant_key(r, ctx, (char *) suffix, key);
}
