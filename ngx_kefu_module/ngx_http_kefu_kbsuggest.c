/*
 * ngx_kefu: the trainer's suggestions (active learning).
 *
 * GET /v1/admin/kb/suggestions?days=1..90&top=1..50: for the period's
 * tapped pairs (question -> FAQ, counted once per user, kefu_tap.h)
 * seen by at least learn_min_users users, then its top unanswered and
 * top clarified questions, the FAQs each most likely belongs to, ranked
 * by the same search as /v1/admin/search.  One pipelined round trip,
 * summing the days like /v1/admin/stats.
 *
 * POST /v1/admin/kb/suggestions/dismiss {"question"}: hides a question
 * from the proposals for 30 days (kefu:{t}:kb:dismissed, a sorted set
 * scored by expiry, capped, trimmed by the script that adds).
 */

#include "ngx_http_kefu_dayunion.h"
#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_scripts.h"
#include "kefu_tap.h"
#include "kefu_stats.h"
#include "kefu_text.h"
#include "kefu_validate.h"


#define NGX_HTTP_KEFU_KBS_DAYS        7
#define NGX_HTTP_KEFU_KBS_MAX_DAYS    90
#define NGX_HTTP_KEFU_KBS_TOP         10
#define NGX_HTTP_KEFU_KBS_MAX_TOP     50
#define NGX_HTTP_KEFU_KBS_EXTRA       100   /* read past dismissed ones */
#define NGX_HTTP_KEFU_KBS_FAQS        3
#define NGX_HTTP_KEFU_KBS_SETS        3     /* p, u, c */


typedef struct {
    ngx_uint_t              days;
    ngx_uint_t              top;
    time_t                  now;
} ngx_http_kefu_kbs_t;


typedef struct {
    ngx_http_kefu_ctx_t        *ctx;
    ngx_http_kefu_main_conf_t  *kmcf;
    ngx_http_kefu_redis_reply_t *dismissed;
    ngx_str_t                  *seen;
    ngx_uint_t                  nseen;
    kefu_buf_t                 *b;
} ngx_http_kefu_kbs_out_t;


static const kefu_field_t  ngx_http_kefu_dismiss_fields[] = {
    { "question", KEFU_F_STRING, 1, 1, 500 },
    { NULL, 0, 0, 0, 0 }
};


static ngx_int_t ngx_http_kefu_admin_kb_suggestions(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_admin_kb_dismiss(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static void ngx_http_kefu_kbs_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_kbs_item(ngx_http_kefu_kbs_out_t *o,
    const char *source, u_char *q, size_t qlen, long tapped,
    ngx_int_t users);
static void ngx_http_kefu_dismiss_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);


/* kmcf->kbsuggest_scripts[] */
static const ngx_http_kefu_lua_t  *const ngx_http_kefu_kbsuggest_scripts[] = {
    &ngx_http_kefu_script_kb_dismiss,
    NULL
};


static ngx_http_kefu_route_t  ngx_http_kefu_kbsuggest_routes[] = {
    { ngx_string("admin/kb/suggestions"), NGX_HTTP_GET,
      ngx_http_kefu_admin_kb_suggestions, 1, 1, 0 },
    { ngx_string("admin/kb/suggestions/dismiss"), NGX_HTTP_POST,
      ngx_http_kefu_admin_kb_dismiss, 1, 1, 0 },
    { ngx_null_string, 0, NULL, 0, 0, 0 }
};


const ngx_http_kefu_endpoint_t  ngx_http_kefu_kbsuggest_endpoint = {
    ngx_http_kefu_kbsuggest_routes,
    ngx_http_kefu_kbsuggest_scripts,
    offsetof(ngx_http_kefu_main_conf_t, kbsuggest_scripts),
    NULL, NULL, NULL
};


static ngx_int_t
ngx_http_kefu_admin_kb_suggestions(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx)
{
    ngx_int_t                   rc;
    ngx_str_t                  *a, tmp[NGX_HTTP_KEFU_KBS_SETS];
    ngx_uint_t                  i, k, ncmd, nargs;
    ngx_http_kefu_kbs_t        *st;
    ngx_http_kefu_dayunion_t    du;
    ngx_http_kefu_redis_cmd_t  *cmds;

    static const char          *sets[] = { ":p", ":u", ":c" };

    st = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_kbs_t));
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = st;

    if (ngx_http_kefu_query_uint(r, "days", NGX_HTTP_KEFU_KBS_DAYS,
                                 NGX_HTTP_KEFU_KBS_MAX_DAYS, &st->days)
        != NGX_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "days must be 1 to 90");
    }

    if (ngx_http_kefu_query_uint(r, "top", NGX_HTTP_KEFU_KBS_TOP,
                                 NGX_HTTP_KEFU_KBS_MAX_TOP, &st->top)
        != NGX_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "top must be 1 to 50");
    }

    st->now = ngx_time();

    du.now = st->now;
    du.days = st->days;
    du.top = st->top + NGX_HTTP_KEFU_KBS_EXTRA;
    du.what = "kbs";

    if (ngx_http_kefu_random_id(r, 8, &du.id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* 3 x (ZUNIONSTORE, EXPIRE, ZREVRANGE); ZRANGEBYSCORE; DEL */
    ncmd = NGX_HTTP_KEFU_KBS_SETS * NGX_HTTP_KEFU_DAYUNION_CMDS + 2;
    nargs = NGX_HTTP_KEFU_KBS_SETS * NGX_HTTP_KEFU_DAYUNION_ARGS(st->days)
            + 4 + 1 + NGX_HTTP_KEFU_KBS_SETS;

    cmds = ngx_palloc(r->pool, ncmd * sizeof(ngx_http_kefu_redis_cmd_t));
    a = ngx_pcalloc(r->pool, nargs * sizeof(ngx_str_t));
    if (cmds == NULL || a == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    k = 0;
    ncmd = 0;

    for (i = 0; i < NGX_HTTP_KEFU_KBS_SETS; i++) {
        if (ngx_http_kefu_dayunion(r, ctx, &du, sets[i], &cmds[ncmd], &a[k],
                                   &tmp[i])
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ncmd += NGX_HTTP_KEFU_DAYUNION_CMDS;
        k += NGX_HTTP_KEFU_DAYUNION_ARGS(st->days);
    }

    /* the questions dismissed and not yet expired */
    ngx_str_set(&a[k], "ZRANGEBYSCORE");

    if (ngx_http_kefu_tenant_key(r, ctx, "kb:dismissed", &a[k + 1])
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[k + 2].data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (a[k + 2].data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[k + 2].len = ngx_sprintf(a[k + 2].data, "%T", st->now)
                   - a[k + 2].data;
    ngx_str_set(&a[k + 3], "+inf");
    cmds[ncmd].argc = 4;
    cmds[ncmd++].argv = &a[k];
    k += 4;

    ngx_str_set(&a[k], "DEL");

    for (i = 0; i < NGX_HTTP_KEFU_KBS_SETS; i++) {
        a[k + 1 + i] = tmp[i];
    }

    cmds[ncmd].argc = 1 + NGX_HTTP_KEFU_KBS_SETS;
    cmds[ncmd++].argv = &a[k];

    rc = ngx_http_kefu_redis_send(r, cmds, ncmd, ngx_http_kefu_kbs_done, st);

    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_kbs_done(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    char                          first[16], last[16];
    u_char                       *tab;
    long                          faq;
    size_t                        j;
    ngx_int_t                     users, count;
    ngx_uint_t                    i, listed;
    kefu_buf_t                    b;
    ngx_http_kefu_ctx_t          *ctx;
    ngx_http_kefu_kbs_t          *st = data;
    ngx_http_kefu_kbs_out_t       o;
    ngx_http_kefu_redis_reply_t  *rep, *m;

    static const char            *sources[] = { "implicit", "unanswered",
                                                "clarified" };

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n,
                                     3 * NGX_HTTP_KEFU_KBS_SETS + 2,
                                     "suggestions read", NULL);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    o.ctx = ctx;
    o.kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);
    o.dismissed = replies[NGX_HTTP_KEFU_KBS_SETS
                           * NGX_HTTP_KEFU_DAYUNION_CMDS];
    o.nseen = 0;
    o.seen = ngx_palloc(r->pool, NGX_HTTP_KEFU_KBS_SETS * st->top
                                 * sizeof(ngx_str_t));
    o.b = &b;

    if (o.seen == NULL || o.dismissed->type != REDIS_REPLY_ARRAY) {
        goto bad;
    }

    kefu_stats_day(st->now, (int) (st->days - 1), first);
    kefu_stats_day(st->now, 0, last);

    kefu_buf_init(&b, &ctx->alloc, 4096);
    kefu_buf_adds(&b, "{\"tenant\":");
    kefu_buf_add_json_str(&b, ctx->tenant->name.data, ctx->tenant->name.len);
    kefu_buf_addf(&b, ",\"days\":%u,\"from\":\"%.4s-%.2s-%.2s\","
                  "\"to\":\"%.4s-%.2s-%.2s\",\"min_users\":%u,\"items\":[",
                  (unsigned) st->days, first, first + 4, first + 6, last,
                  last + 4, last + 6,
                  (unsigned) ctx->tenant->learn_min_users);

    for (i = 0; i < NGX_HTTP_KEFU_KBS_SETS; i++) {
        rep = replies[NGX_HTTP_KEFU_DAYUNION_REPLY(0, i)];

        if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2) {
            goto bad;
        }

        listed = 0;

        for (j = 0; j < rep->elements && listed < st->top; j += 2) {
            m = rep->element[j];

            if (m->type != REDIS_REPLY_STRING
                || rep->element[j + 1]->type != REDIS_REPLY_STRING)
            {
                goto bad;
            }

            count = ngx_atoi(rep->element[j + 1]->str.data,
                             rep->element[j + 1]->str.len);
            users = count == NGX_ERROR ? 0 : count;
            faq = -1;

            if (i == 0) {
                /* best first: the rest are seen by fewer users still */
                if ((ngx_uint_t) users < ctx->tenant->learn_min_users) {
                    break;
                }

                /* "faq_id\tquestion"; a FAQ gone since is no proposal */
                tab = ngx_strlchr(m->str.data, m->str.data + m->str.len,
                                  '\t');
                if (tab == NULL) {
                    continue;
                }

                faq = kefu_kb_find(ctx->tenant->kb, m->str.data,
                                   tab - m->str.data);
                if (faq < 0) {
                    continue;
                }

                rc = ngx_http_kefu_kbs_item(&o, sources[i], tab + 1,
                                            m->str.data + m->str.len - tab
                                            - 1, faq, users);

            } else {
                rc = ngx_http_kefu_kbs_item(&o, sources[i], m->str.data,
                                            m->str.len, -1, users);
            }

            if (rc == NGX_ERROR) {
                goto bad;
            }

            listed += (rc == NGX_OK);
        }
    }

    kefu_buf_adds(&b, "]}\n");

    ngx_http_finalize_request(r, ngx_http_kefu_send_json(r, NGX_HTTP_OK,
                                                         &b));
    return;

bad:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "kefu: unexpected reply for kb suggestions");
    ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


/* dismissed entries are cut at a character, counted ones may be cut at a
 * byte (the unanswered list keeps 200 bytes): a long one matches by its
 * prefix */

static ngx_int_t
ngx_http_kefu_kbs_same(u_char *a, size_t alen, u_char *b, size_t blen)
{
    if (alen == blen && ngx_memcmp(a, b, alen) == 0) {
        return 1;
    }

    if (alen >= KEFU_TAP_MAX_Q - 4 && blen >= KEFU_TAP_MAX_Q - 4) {
        return ngx_memcmp(a, b, ngx_min(alen, blen)) == 0;
    }

    return 0;
}


/*
 * One proposal: NGX_OK when written, NGX_DECLINED when the question is
 * dismissed or already proposed above.
 */
static ngx_int_t
ngx_http_kefu_kbs_item(ngx_http_kefu_kbs_out_t *o, const char *source,
    u_char *q, size_t qlen, long tapped, ngx_int_t users)
{
    int                           nh;
    size_t                        i, w;
    kefu_buf_t                   *b = o->b;
    kefu_hit_t                    hits[8];
    const kefu_kb_t              *kb;
    const kefu_faq_t             *faq;
    ngx_http_kefu_redis_reply_t  *d;

    for (i = 0; i < o->dismissed->elements; i++) {
        d = o->dismissed->element[i];

        if (d->type == REDIS_REPLY_STRING
            && ngx_http_kefu_kbs_same(d->str.data, d->str.len, q, qlen))
        {
            return NGX_DECLINED;
        }
    }

    for (i = 0; i < o->nseen; i++) {
        if (ngx_http_kefu_kbs_same(o->seen[i].data, o->seen[i].len, q, qlen))
        {
            return NGX_DECLINED;
        }
    }

    o->seen[o->nseen].data = q;
    o->seen[o->nseen++].len = qlen;

    kb = o->ctx->tenant->kb;

    /* the same ranking as /v1/admin/search, no previous topic */
    nh = kefu_kb_search(kb, o->kmcf->scratch, q, qlen, -1, hits, 8);
    if (nh < 0) {
        nh = 0;     /* a question cut inside a character: no proposals */
    }

    kefu_buf_adds(b, o->nseen > 1 ? ",{\"question\":" : "{\"question\":");
    kefu_buf_add_json_str(b, q, qlen);
    kefu_buf_addf(b, ",\"source\":\"%s\",\"users\":%ld,\"faqs\":[", source,
                  (long) users);

    w = 0;

    if (tapped >= 0) {
        /* the FAQ the users chose comes first, with its own score */
        faq = &kb->faqs[tapped];

        for (i = 0; i < (size_t) nh; i++) {
            if (hits[i].faq == (uint32_t) tapped) {
                break;
            }
        }

        kefu_buf_adds(b, "{\"faq_id\":");
        kefu_buf_add_json_str(b, faq->id.data, faq->id.len);
        kefu_buf_adds(b, ",\"question\":");
        kefu_buf_add_json_str(b, faq->question.data, faq->question.len);
        kefu_buf_addf(b, ",\"score\":%.4f,\"confidence\":%.4f,"
                      "\"implicit\":true,\"users\":%ld}",
                      i < (size_t) nh ? hits[i].score : 0.0,
                      i < (size_t) nh ? hits[i].confidence : 0.0,
                      (long) users);
        w++;
    }

    for (i = 0; i < (size_t) nh && w < NGX_HTTP_KEFU_KBS_FAQS; i++) {
        if (tapped >= 0 && hits[i].faq == (uint32_t) tapped) {
            continue;
        }

        faq = &kb->faqs[hits[i].faq];

        kefu_buf_adds(b, w ? ",{\"faq_id\":" : "{\"faq_id\":");
        kefu_buf_add_json_str(b, faq->id.data, faq->id.len);
        kefu_buf_adds(b, ",\"question\":");
        kefu_buf_add_json_str(b, faq->question.data, faq->question.len);
        kefu_buf_addf(b, ",\"score\":%.4f,\"confidence\":%.4f,"
                      "\"implicit\":false}",
                      hits[i].score, hits[i].confidence);
        w++;
    }

    kefu_buf_adds(b, "]}");

    return b->failed ? NGX_ERROR : NGX_OK;
}


static ngx_int_t
ngx_http_kefu_admin_kb_dismiss(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx)
{
    char                        err[128];
    long                        n;
    u_char                     *p;
    size_t                      len;
    ngx_int_t                   rc;
    ngx_str_t                  *a;
    const kefu_json_t          *v[1];
    ngx_http_kefu_main_conf_t  *kmcf;

    if (kefu_validate(ctx->body, ngx_http_kefu_dismiss_fields, v, err,
                      sizeof(err))
        != KEFU_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request", err);
    }

    p = ngx_pnalloc(r->pool, v[0]->str.len + 1);
    a = ngx_pcalloc(r->pool, 5 * sizeof(ngx_str_t));
    if (p == NULL || a == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* as the lists keep it: normalised, at most 200 bytes */
    n = kefu_text_normalize(v[0]->str.data, v[0]->str.len, p);
    if (n <= 0) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "question is empty");
    }

    len = (size_t) n;

    if (len > KEFU_TAP_MAX_Q) {
        len = KEFU_TAP_MAX_Q;

        while (len > 0 && (p[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    if (ngx_http_kefu_tenant_key(r, ctx, "kb:dismissed", &a[0]) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[1].data = p;
    a[1].len = len;

    a[2].data = ngx_pnalloc(r->pool, 2 * NGX_TIME_T_LEN);
    if (a[2].data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[2].len = ngx_sprintf(a[2].data, "%T", ngx_time()) - a[2].data;
    a[3].data = a[2].data + a[2].len;
    a[3].len = ngx_sprintf(a[3].data, "%T",
                           ngx_time() + NGX_HTTP_KEFU_DISMISS_TTL)
               - a[3].data;
    ngx_str_set(&a[4], NGX_HTTP_KEFU_DISMISS_MAX);

    ctx->data = &a[1];
    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_eval(r, kmcf->kbsuggest_scripts[0], 1, 5, a,
                                  ngx_http_kefu_dismiss_done, &a[1]);

    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_dismiss_done(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    kefu_buf_t            b;
    ngx_str_t            *q = data;
    ngx_http_kefu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n, 1,
                                     "dismissing a suggestion", NULL);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    kefu_buf_init(&b, &ctx->alloc, 512);
    kefu_buf_adds(&b, "{\"question\":");
    kefu_buf_add_json_str(&b, q->data, q->len);
    kefu_buf_addf(&b, ",\"dismissed\":true,\"days\":%d}\n",
                  NGX_HTTP_KEFU_DISMISS_TTL / 86400);

    ngx_http_finalize_request(r, ngx_http_kefu_send_json(r, NGX_HTTP_OK,
                                                         &b));
}
