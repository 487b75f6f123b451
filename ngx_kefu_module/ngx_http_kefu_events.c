/*
 * ngx_kefu: POST /v1/events, the user's behaviour trail for "猜你关心".
 *
 * The whole batch is checked before anything is written, then stored by
 * one Lua script (lua/events_append.lua; one EVALSHA round trip, atomic):
 *
 *   - kefu:{t:u}:trail, the events as compact JSON (kefu_event_encode()),
 *     newest first: LPUSH, LTRIM to trail_max, EXPIRE trail_ttl;
 *   - kefu:{t:u}:tsum, the trail's summary that GET /v1/suggestions reads
 *     instead of the trail: a short list of records, one per batch, built
 *     here (format in kefu_trail.h): per event type of the batch its
 *     count, each event decayed from its own ts to R (2^((ts - R) / H),
 *     R = kefu_hot_generation()), and its newest timestamp(s).
 *
 * Writing a record is a plain LPUSH: Redis does no arithmetic and no
 * parsing.  When the list has grown past 2 x NGX_HTTP_KEFU_SUM_KEEP
 * records (33), the request that made it so folds all but the newest
 * NGX_HTTP_KEFU_SUM_KEEP into one, here in C (kefu_trail_sum_fold():
 * counts rescaled and added, timestamps merged, at most
 * min(trail_max, KEFU_TRAIL_SUM_TYPES) types, the ones seen least
 * recently go as they would from the capped trail): LRANGE, then a
 * script that swaps them for the fold only if the list's tail is still
 * what was read (lua/events_fold.lua; concurrent folds: one wins, the
 * others do nothing).
 * So readers get a bounded number of short records (33 at most when one
 * user's posts do not race); the list is capped at
 * NGX_HTTP_KEFU_SUM_HARD records whatever happens.
 *
 * 202 once Redis confirmed the write (a failed fold is only logged).
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_events.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_scripts.h"
#include "kefu_event.h"
#include "kefu_hot.h"
#include "kefu_trail.h"


/* ARGV before the events: trail_max, trail_ttl, record, hard cap */
#define NGX_HTTP_KEFU_EVENTS_ARGS   4
#define NGX_HTTP_KEFU_SUM_KEEP      16
/* hard cap on the records: well above 2 x KEEP plus the posts that can
 * arrive for one user while a fold is under way */
#define NGX_HTTP_KEFU_SUM_HARD      120


typedef struct {
    ngx_uint_t                  accepted;
    int64_t                     ref;
    int64_t                     half_life;
    ngx_str_t                   key;        /* the summary's */
} ngx_http_kefu_events_t;


static ngx_int_t ngx_http_kefu_events(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static void ngx_http_kefu_events_saved(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static void ngx_http_kefu_events_read(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static void ngx_http_kefu_events_folded(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static void ngx_http_kefu_events_done(ngx_http_request_t *r,
    ngx_http_kefu_events_t *es);


/* kmcf->events_scripts[] */
static const ngx_http_kefu_lua_t  *const ngx_http_kefu_events_scripts[] = {
    &ngx_http_kefu_script_events_append,
    &ngx_http_kefu_script_events_fold,
    NULL
};


static ngx_http_kefu_route_t  ngx_http_kefu_events_routes[] = {
    { ngx_string("events"), NGX_HTTP_POST, ngx_http_kefu_events, 1, 0, 0 },
    { ngx_null_string, 0, NULL, 0, 0, 0 }
};


const ngx_http_kefu_endpoint_t  ngx_http_kefu_events_endpoint = {
    ngx_http_kefu_events_routes,
    ngx_http_kefu_events_scripts,
    offsetof(ngx_http_kefu_main_conf_t, events_scripts),
    NULL, NULL, NULL
};

static ngx_int_t
ngx_http_kefu_events(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    char                          err[128];
    size_t                        i, n;
    int64_t                       ref, h;
    ngx_int_t                     rc;
    ngx_str_t                    *a, *e;
    ngx_uint_t                    argc;
    kefu_buf_t                    b;
    kefu_event_in_t              *ev;
    ngx_http_kefu_tenant_t       *t;
    ngx_http_kefu_events_t       *es;
    ngx_http_kefu_main_conf_t    *kmcf;
    kefu_trail_sum_t             *sums;

    t = ctx->tenant;

    ev = ngx_palloc(r->pool, KEFU_EVENTS_MAX_BATCH * sizeof(kefu_event_in_t));
    es = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_events_t));
    if (ev == NULL || es == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (kefu_events_check(ctx->body, (int64_t) ngx_time(),
                          (int64_t) t->trail_ttl, ev, &n, err, sizeof(err))
        != KEFU_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request", err);
    }

    ctx->data = es;
    es->accepted = n;

    sums = ngx_palloc(r->pool, n * sizeof(kefu_trail_sum_t));
    if (sums == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the summary record of the batch is the fold of its events, each
     * counted once at its own time, as of R */
    h = ngx_max((int64_t) t->trail_half_life, 1);
    ref = kefu_hot_generation((int64_t) ngx_time(), h);

    for (i = 0; i < n; i++) {
        sums[i].type = ev[i].type;
        sums[i].count = 1;
        sums[i].ref = ev[i].ts;
        sums[i].ts[0] = ev[i].ts;
        sums[i].nts = 1;
    }

    kefu_buf_init(&b, &ctx->alloc, 64 + n * 48);

    if (kefu_trail_sum_fold(sums, n, ref, (double) h, n, &b) != KEFU_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (b.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* keys, the fixed arguments, the events */
    argc = 2 + NGX_HTTP_KEFU_EVENTS_ARGS + n;

    a = ngx_palloc(r->pool, argc * sizeof(ngx_str_t));
    if (a == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[4].data = b.data;
    a[4].len = b.len;

    es->ref = ref;
    es->half_life = h;

    if (ngx_http_kefu_user_key(r, ctx, "trail", &a[0]) != NGX_OK
        || ngx_http_kefu_user_key(r, ctx, "tsum", &a[1]) != NGX_OK
        || ngx_http_kefu_num(r, t->trail_max, &a[2]) != NGX_OK
        || ngx_http_kefu_num(r, t->trail_ttl, &a[3]) != NGX_OK
        || ngx_http_kefu_num(r, NGX_HTTP_KEFU_SUM_HARD, &a[5]) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    es->key = a[1];

    /* in batch order: the last event ends up at the head, newest first */
    e = &a[2 + NGX_HTTP_KEFU_EVENTS_ARGS];

    for (i = 0; i < n; i++) {
        kefu_buf_init(&b, &ctx->alloc, 64);
        kefu_event_encode(&b, &ev[i]);

        if (b.failed) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        e[i].data = b.data;
        e[i].len = b.len;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_eval(r, kmcf->events_scripts[0], 2, argc, a,
                                  ngx_http_kefu_events_saved, es);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_events_saved(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    ngx_str_t                     *a;
    ngx_http_kefu_events_t        *es = data;
    ngx_http_kefu_redis_cmd_t     *cmd;
    ngx_http_kefu_redis_reply_t   *rep;

    /* the script answers the summary's length, or an error */
    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n, 1,
                                     "script events_write", &es->key);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    rep = replies[0];

    if (rep->type != REDIS_REPLY_INTEGER) {
        ngx_http_finalize_request(r,
            ngx_http_kefu_redis_unexpected(r, rep, "script events_write",
                                           &es->key));
        return;
    }

    /*
     * Only the requests that made it 33, 65, 97 records long fold:
     * concurrent posts for one user must not all read and fold the same
     * records (the losers of a race would do it for nothing); at the
     * hard cap, which moves the tail at every write, 1 in 16 tries.
     */
    if (!((rep->integer > 2 * NGX_HTTP_KEFU_SUM_KEEP
           && rep->integer % (2 * NGX_HTTP_KEFU_SUM_KEEP) == 1)
          || (rep->integer > NGX_HTTP_KEFU_SUM_HARD
              && ngx_random() % 16 == 0)))
    {
        ngx_http_kefu_events_done(r, es);
        return;
    }

    /* time to fold: read all but the newest records */
    cmd = ngx_palloc(r->pool, sizeof(ngx_http_kefu_redis_cmd_t));
    a = ngx_pcalloc(r->pool, 4 * sizeof(ngx_str_t));
    if (cmd == NULL || a == NULL) {
        ngx_http_kefu_events_done(r, es);
        return;
    }

    ngx_str_set(&a[0], "LRANGE");
    a[1] = es->key;
    ngx_str_set(&a[3], "-1");

    if (ngx_http_kefu_num(r, NGX_HTTP_KEFU_SUM_KEEP, &a[2]) != NGX_OK) {
        ngx_http_kefu_events_done(r, es);
        return;
    }

    cmd->argc = 4;
    cmd->argv = a;

    if (ngx_http_kefu_redis_send(r, cmd, 1, ngx_http_kefu_events_read, es)
        != NGX_OK)
    {
        ngx_http_kefu_events_done(r, es);
    }
}


static void
ngx_http_kefu_events_read(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    size_t                        i, ns;
    ngx_str_t                    *a;
    kefu_buf_t                    b;
    ngx_uint_t                    cap;
    size_t                        max;
    kefu_trail_sum_t             *sm;
    ngx_http_kefu_ctx_t          *ctx;
    ngx_http_kefu_events_t       *es = data;
    ngx_http_kefu_main_conf_t    *kmcf;
    ngx_http_kefu_redis_reply_t  *rep, *last;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);
    rep = (rc == NGX_OK && n == 1) ? replies[0] : NULL;

    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements < 2) {
        ngx_http_kefu_events_done(r, es);
        return;
    }

    last = rep->element[rep->elements - 1];
    ns = 0;
    max = ngx_http_kefu_sum_entries(rep);
    sm = ngx_palloc(r->pool, (max ? max : 1) * sizeof(kefu_trail_sum_t));
    a = ngx_palloc(r->pool, 4 * sizeof(ngx_str_t));
    if (sm == NULL || a == NULL || last->type != REDIS_REPLY_STRING) {
        ngx_http_kefu_events_done(r, es);
        return;
    }

    for (i = 0; i < rep->elements; i++) {
        /* a damaged record: what could be read of it is kept */
        if (rep->element[i]->type == REDIS_REPLY_STRING
            && kefu_trail_sum_record(rep->element[i]->str.data,
                                     rep->element[i]->str.len, sm, max,
                                     &ns)
               != KEFU_OK)
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "kefu: damaged trail summary record");
        }
    }

    cap = ngx_min(ctx->tenant->trail_max, KEFU_TRAIL_SUM_TYPES);
    kefu_buf_init(&b, &ctx->alloc, 64 + 48 * cap);

    if (ns == 0
        || kefu_trail_sum_fold(sm, ns, es->ref, (double) es->half_life,
                               cap, &b)
           != KEFU_OK
        || ngx_http_kefu_num(r, rep->elements, &a[1]) != NGX_OK)
    {
        ngx_http_kefu_events_done(r, es);
        return;
    }

    a[0] = es->key;
    a[2] = last->str;
    a[3].data = b.data;
    a[3].len = b.len;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    if (ngx_http_kefu_redis_eval(r, kmcf->events_scripts[1], 1, 4, a,
                                 ngx_http_kefu_events_folded, es)
        != NGX_OK)
    {
        ngx_http_kefu_events_done(r, es);
    }
}


static void
ngx_http_kefu_events_folded(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    if (rc == NGX_OK && n == 1 && replies[0]->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kefu: trail summary fold failed: \"%V\"",
                      &replies[0]->str);
    }

    ngx_http_kefu_events_done(r, data);
}


static void
ngx_http_kefu_events_done(ngx_http_request_t *r, ngx_http_kefu_events_t *es)
{
    kefu_buf_t            b;
    ngx_http_kefu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    kefu_buf_init(&b, &ctx->alloc, 32);
    kefu_buf_addf(&b, "{\"accepted\":%lu}\n", (unsigned long) es->accepted);

    ngx_http_finalize_request(r, ngx_http_kefu_send_json(r, NGX_HTTP_ACCEPTED,
                                                         &b));
}


/*
 * How many per-type sums the summary records of rep hold: one per ';'.
 * What a request allocates for them follows what Redis sent, not the
 * most a summary could hold.
 */
size_t
ngx_http_kefu_sum_entries(ngx_http_kefu_redis_reply_t *rep)
{
    u_char                       *p, *last;
    size_t                        i, n;
    ngx_http_kefu_redis_reply_t  *rec;

    n = 0;

    for (i = 0; i < rep->elements; i++) {
        rec = rep->element[i];

        if (rec->type != REDIS_REPLY_STRING) {
            continue;
        }

        p = rec->str.data;
        last = p + rec->str.len;

        while (p < last && (p = ngx_strlchr(p, last, ';')) != NULL) {
            n++;
            p++;
        }
    }

    return n;
}
