/*
 * ngx_kefu: GET /v1/admin/stats?days=1..90&top=1..50 (admin token).
 *
 * One pipelined round trip: the day's counter hashes for every day of the
 * period (the tenant's, /v1/ask's, and one per bucket of users, those of
 * the loss reports, handoffs and feedback, whose scripts write in the
 * user's bucket), then the period's top questions and top unanswered
 * questions, summed by ZUNIONSTORE into temporary keys of the tenant
 * (same slot, expiring, deleted at the end of the same pipeline).  The
 * batch mixes slots; each command has one.  The tenant comes from the
 * token: an admin sees only his own tenant.
 */

#include "ngx_http_kefu_dayunion.h"
#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "kefu_stats.h"


#define NGX_HTTP_KEFU_STATS_DAYS      7
#define NGX_HTTP_KEFU_STATS_MAX_DAYS  90
#define NGX_HTTP_KEFU_STATS_TOP       10
#define NGX_HTTP_KEFU_STATS_MAX_TOP   50

/* the day hashes of one day: the tenant's and its buckets' */
#define NGX_HTTP_KEFU_STATS_HASHES    (1 + NGX_HTTP_KEFU_BUCKETS)


typedef struct {
    ngx_uint_t              days;
    ngx_uint_t              top;
    time_t                  now;
} ngx_http_kefu_stats_t;


static ngx_int_t ngx_http_kefu_admin_stats(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static void ngx_http_kefu_stats_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_stats_top(ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_redis_reply_t *rep, ngx_uint_t faqs, kefu_buf_t *b);


static ngx_http_kefu_route_t  ngx_http_kefu_stats_routes[] = {
    { ngx_string("admin/stats"), NGX_HTTP_GET, ngx_http_kefu_admin_stats,
      1, 1, 0 },
    { ngx_null_string, 0, NULL, 0, 0, 0 }
};


const ngx_http_kefu_endpoint_t  ngx_http_kefu_stats_endpoint = {
    ngx_http_kefu_stats_routes,
    NULL, 0,
    NULL, NULL, NULL
};


static ngx_int_t
ngx_http_kefu_admin_stats(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    char                        day[16];
    ngx_int_t                   rc;
    ngx_str_t                  *a, tmp[2];
    ngx_uint_t                  i, d, k, b, h, ncmd, nargs;
    ngx_http_kefu_stats_t      *st;
    ngx_http_kefu_dayunion_t    du;
    ngx_http_kefu_redis_cmd_t  *cmds;

    st = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_stats_t));
    if (st == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = st;

    if (ngx_http_kefu_query_uint(r, "days", NGX_HTTP_KEFU_STATS_DAYS,
                                 NGX_HTTP_KEFU_STATS_MAX_DAYS, &st->days)
        != NGX_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "days must be 1 to 90");
    }

    if (ngx_http_kefu_query_uint(r, "top", NGX_HTTP_KEFU_STATS_TOP,
                                 NGX_HTTP_KEFU_STATS_MAX_TOP, &st->top)
        != NGX_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "top must be 1 to 50");
    }

    st->now = ngx_time();

    du.now = st->now;
    du.days = st->days;
    du.top = st->top;
    du.what = "stats";

    if (ngx_http_kefu_random_id(r, 8, &du.id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* days x hashes x HGETALL; 2 x (ZUNIONSTORE, EXPIRE, ZREVRANGE); DEL */
    h = st->days * NGX_HTTP_KEFU_STATS_HASHES;
    ncmd = h + 2 * NGX_HTTP_KEFU_DAYUNION_CMDS + 1;
    nargs = 2 * h + 2 * NGX_HTTP_KEFU_DAYUNION_ARGS(st->days) + 3;

    cmds = ngx_palloc(r->pool, ncmd * sizeof(ngx_http_kefu_redis_cmd_t));
    a = ngx_pcalloc(r->pool, nargs * sizeof(ngx_str_t));
    if (cmds == NULL || a == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    k = 0;
    ncmd = 0;

    /* the day hashes, oldest first */
    for (d = 0; d < st->days; d++) {
        kefu_stats_day(st->now, (int) (st->days - 1 - d), day);

        for (b = 0; b < NGX_HTTP_KEFU_STATS_HASHES; b++) {
            ngx_str_set(&a[k], "HGETALL");

            if ((b == 0
                 ? ngx_http_kefu_day_key(r, ctx, (u_char *) day, "",
                                         &a[k + 1])
                 : ngx_http_kefu_bucket_day_key(r, ctx, b - 1,
                                                (u_char *) day, &a[k + 1]))
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            cmds[ncmd].argc = 2;
            cmds[ncmd++].argv = &a[k];
            k += 2;
        }
    }

    /* i = 0: FAQ hits (":q"), i = 1: unanswered questions (":u") */
    for (i = 0; i < 2; i++) {
        if (ngx_http_kefu_dayunion(r, ctx, &du, i ? ":u" : ":q", &cmds[ncmd],
                                   &a[k], &tmp[i])
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ncmd += NGX_HTTP_KEFU_DAYUNION_CMDS;
        k += NGX_HTTP_KEFU_DAYUNION_ARGS(st->days);
    }

    ngx_str_set(&a[k], "DEL");
    a[k + 1] = tmp[0];
    a[k + 2] = tmp[1];
    cmds[ncmd].argc = 3;
    cmds[ncmd++].argv = &a[k];

    rc = ngx_http_kefu_redis_send(r, cmds, ncmd, ngx_http_kefu_stats_done,
                                  st);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_stats_done(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    char                          day[16], first[16];
    size_t                        j;
    ngx_uint_t                    d, b, h;
    kefu_buf_t                    buf;
    kefu_stats_t                  total, one, *days;
    ngx_http_kefu_ctx_t          *ctx;
    ngx_http_kefu_stats_t        *st = data;
    ngx_http_kefu_redis_reply_t  *rep;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    h = st->days * NGX_HTTP_KEFU_STATS_HASHES;

    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n, h + 7,
                                     "statistics read", NULL);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    days = ngx_pcalloc(r->pool, st->days * sizeof(kefu_stats_t));
    if (days == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memzero(&total, sizeof(kefu_stats_t));

    for (d = 0; d < st->days; d++) {
        for (b = 0; b < NGX_HTTP_KEFU_STATS_HASHES; b++) {
            rep = replies[d * NGX_HTTP_KEFU_STATS_HASHES + b];

            if (rep->type != REDIS_REPLY_ARRAY) {
                continue;
            }

            ngx_memzero(&one, sizeof(kefu_stats_t));

            for (j = 0; j + 1 < rep->elements; j += 2) {
                if (rep->element[j]->type != REDIS_REPLY_STRING
                    || rep->element[j + 1]->type != REDIS_REPLY_STRING)
                {
                    continue;
                }

                /* fields of other features are not counters of ours */
                (void) kefu_stats_set(&one, rep->element[j]->str.data,
                                      rep->element[j]->str.len,
                                      rep->element[j + 1]->str.data,
                                      rep->element[j + 1]->str.len);
            }

            kefu_stats_add(&days[d], &one);
        }

        kefu_stats_floor(&days[d]);
        kefu_stats_add(&total, &days[d]);
    }

    kefu_stats_day(st->now, (int) (st->days - 1), first);
    kefu_stats_day(st->now, 0, day);

    kefu_buf_init(&buf, &ctx->alloc, 1024 + 256 * st->days);

    kefu_buf_adds(&buf, "{\"tenant\":");
    kefu_buf_add_json_str(&buf, ctx->tenant->name.data, ctx->tenant->name.len);
    kefu_buf_addf(&buf, ",\"days\":%u,\"from\":\"%.4s-%.2s-%.2s\","
                  "\"to\":\"%.4s-%.2s-%.2s\",\"total\":",
                  (unsigned) st->days, first, first + 4, first + 6, day,
                  day + 4, day + 6);
    kefu_stats_json(&total, NULL, &buf);
    kefu_buf_adds(&buf, ",\"daily\":[");

    for (d = 0; d < st->days; d++) {
        kefu_stats_day(st->now, (int) (st->days - 1 - d), day);

        if (d) {
            kefu_buf_adds(&buf, ",");
        }

        kefu_stats_json(&days[d], day, &buf);
    }

    /* replies: the days' hashes, then the unions of q and u */
    kefu_buf_adds(&buf, "],\"top_questions\":");

    if (ngx_http_kefu_stats_top(ctx,
                                replies[NGX_HTTP_KEFU_DAYUNION_REPLY(h, 0)],
                                1, &buf)
        != NGX_OK)
    {
        goto bad;
    }

    kefu_buf_adds(&buf, ",\"top_unanswered\":");

    if (ngx_http_kefu_stats_top(ctx,
                                replies[NGX_HTTP_KEFU_DAYUNION_REPLY(h, 1)],
                                0, &buf)
        != NGX_OK)
    {
        goto bad;
    }

    kefu_buf_adds(&buf, "}\n");

    ngx_http_finalize_request(r, ngx_http_kefu_send_json(r, NGX_HTTP_OK,
                                                         &buf));
    return;

bad:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "kefu: unexpected ZREVRANGE reply for stats");
    ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


/* [{"faq_id","question","count"}] or [{"question","count"}] */

static ngx_int_t
ngx_http_kefu_stats_top(ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_redis_reply_t *rep, ngx_uint_t faqs, kefu_buf_t *b)
{
    long                          faq;
    size_t                        j;
    ngx_int_t                     count;
    const kefu_kb_t              *kb;
    ngx_http_kefu_redis_reply_t  *m, *s;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2) {
        return NGX_ERROR;
    }

    kb = ctx->tenant->kb;

    kefu_buf_adds(b, "[");

    for (j = 0; j < rep->elements; j += 2) {
        m = rep->element[j];
        s = rep->element[j + 1];

        if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING) {
            return NGX_ERROR;
        }

        /* scores are whole numbers ("3"); anything else reads 0 */
        count = ngx_atoi(s->str.data, s->str.len);
        if (count == NGX_ERROR) {
            count = 0;
        }

        kefu_buf_adds(b, j ? ",{" : "{");

        if (faqs) {
            kefu_buf_adds(b, "\"faq_id\":");
            kefu_buf_add_json_str(b, m->str.data, m->str.len);

            /* the question as the current KB words it, if still there */
            faq = kefu_kb_find(kb, m->str.data, m->str.len);

            if (faq >= 0) {
                kefu_buf_adds(b, ",\"question\":");
                kefu_buf_add_json_str(b, kb->faqs[faq].question.data,
                                      kb->faqs[faq].question.len);
            }

        } else {
            kefu_buf_adds(b, "\"question\":");
            kefu_buf_add_json_str(b, m->str.data, m->str.len);
        }

        kefu_buf_addf(b, ",\"count\":%ld}", (long) count);
    }

    kefu_buf_adds(b, "]");

    return NGX_OK;
}
