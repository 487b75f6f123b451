/*
 * ngx_kefu: the back office's lists and the agent queue's tickets.
 *
 *   GET  /v1/admin/loss-reports?status=S&limit=N&cursor=C  newest first
 *   GET  /v1/admin/tickets?limit=N&cursor=C                the queue
 *   GET  /v1/admin/tickets/{id}                            one ticket
 *   POST /v1/admin/tickets/{id}  {"status":"closed"}       close it
 *
 * Pages are read by position, not by offset: the loss reports' cursor is
 * the index member of the last report shown ("CREATED.ID"), the tickets'
 * cursor the queue score of the last ticket shown (level, then arrival).
 * A report or ticket that was there when the first page was read is thus
 * shown once, whatever arrives meanwhile.  Reports and tickets live in
 * the buckets of their users (ngx_http_kefu_keys.h): a page reads every
 * bucket's range with one batch, merges them here, then reads the
 * page's records with a second batch; a record that is gone is skipped.
 */

#include "ngx_http_kefu_backoffice.h"
#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_report.h"
#include "ngx_http_kefu_scripts.h"
#include "kefu_report.h"
#include "kefu_validate.h"


#define NGX_HTTP_KEFU_PAGE_DEFAULT  20
#define NGX_HTTP_KEFU_PAGE_MAX      100
#define NGX_HTTP_KEFU_SCORE_MAX     9007199254740992LL     /* 2^53 */


typedef struct {
    ngx_str_t               member;     /* index member, or ticket id */
    int64_t                 score;      /* a ticket's queue score */
} ngx_http_kefu_bo_item_t;


typedef struct {
    ngx_str_t               qkey;       /* the ticket's bucket's queue */
    ngx_str_t               id;         /* ticket id */
    ngx_str_t               tkey;       /* ticket key */
    kefu_str_t             *kv;         /* the ticket's hash */
    size_t                  npairs;
    ngx_uint_t              limit;
    ngx_str_t               next;       /* next page's cursor, or none */
    int64_t                 ahead;      /* tickets before the page */
    int64_t                *pos;        /* the page's queue places */
} ngx_http_kefu_bo_t;


static const kefu_field_t  ngx_http_kefu_ticket_change_fields[] = {
    { "status", KEFU_F_STRING, 1, 1, 16 },
    { NULL, 0, 0, 0, 0 }
};


static ngx_int_t ngx_http_kefu_admin_loss_reports(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_admin_tickets(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_admin_ticket(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_bo_limit(ngx_http_request_t *r,
    ngx_uint_t *limit);
static ngx_uint_t ngx_http_kefu_bo_batch(ngx_http_request_t *r,
    ngx_uint_t limit);
static ngx_int_t ngx_http_kefu_bo_bad(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const char *message);
static ngx_int_t ngx_http_kefu_queue_ahead(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_str_t *max, ngx_http_kefu_redis_cmd_t *cmds,
    ngx_str_t *a);
static ngx_int_t ngx_http_kefu_lr_member_id(ngx_str_t *m, ngx_str_t *id);
static int ngx_libc_cdecl ngx_http_kefu_lr_newer(const void *one,
    const void *two);
static int ngx_libc_cdecl ngx_http_kefu_tk_before(const void *one,
    const void *two);
static void ngx_http_kefu_lr_page(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static void ngx_http_kefu_lr_items(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_tk_score(ngx_str_t *s, int64_t *score);
static void ngx_http_kefu_tk_page(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static void ngx_http_kefu_tk_items(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static void ngx_http_kefu_tk_loaded(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static void ngx_http_kefu_tk_placed(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_tk_show(ngx_http_request_t *r,
    ngx_http_kefu_bo_t *bo, int64_t position);
static ngx_int_t ngx_http_kefu_tk_close(ngx_http_request_t *r,
    ngx_http_kefu_bo_t *bo);
static void ngx_http_kefu_tk_closed(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_tk_json(ngx_http_kefu_ctx_t *ctx,
    kefu_str_t *kv, size_t n, int64_t position, kefu_buf_t *b);
static void ngx_http_kefu_tk_turns(ngx_http_kefu_ctx_t *ctx, kefu_str_t *s,
    kefu_buf_t *b);
static kefu_str_t *ngx_http_kefu_field(kefu_str_t *kv, size_t n,
    const char *name);
static int64_t ngx_http_kefu_field_int(kefu_str_t *kv, size_t n,
    const char *name);
static ngx_int_t ngx_http_kefu_page_send(ngx_http_request_t *r,
    ngx_http_kefu_bo_t *bo, kefu_buf_t *b);


/* kmcf->backoffice_scripts[] */
static const ngx_http_kefu_lua_t  *const ngx_http_kefu_backoffice_scripts[] = {
    &ngx_http_kefu_script_ticket_close,
    NULL
};


static ngx_http_kefu_route_t  ngx_http_kefu_backoffice_routes[] = {
    { ngx_string("admin/loss-reports"), NGX_HTTP_GET,
      ngx_http_kefu_admin_loss_reports, 1, 1, 0 },
    { ngx_string("admin/tickets"), NGX_HTTP_GET,
      ngx_http_kefu_admin_tickets, 1, 1, 0 },
    { ngx_string("admin/tickets/"), NGX_HTTP_GET|NGX_HTTP_POST,
      ngx_http_kefu_admin_ticket, 1, 1, 1 },
    { ngx_null_string, 0, NULL, 0, 0, 0 }
};


const ngx_http_kefu_endpoint_t  ngx_http_kefu_backoffice_endpoint = {
    ngx_http_kefu_backoffice_routes,
    ngx_http_kefu_backoffice_scripts,
    offsetof(ngx_http_kefu_main_conf_t, backoffice_scripts),
    NULL, NULL, NULL
};


/*
 * The tickets of every bucket's queue ahead of a queue score ("(S" for
 * those before S, "S" with it): NGX_HTTP_KEFU_BUCKETS ZCOUNT commands, 4
 * arguments each, into cmds and a.  Scores are unique across buckets
 * (the bucket is in their low bits, see handoff.lua), so the sum is a
 * place in the tenant's one queue.
 */

static ngx_int_t
ngx_http_kefu_queue_ahead(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_str_t *max, ngx_http_kefu_redis_cmd_t *cmds, ngx_str_t *a)
{
    ngx_uint_t  b;

    for (b = 0; b < NGX_HTTP_KEFU_BUCKETS; b++) {
        ngx_str_set(&a[4 * b], "ZCOUNT");

        if (ngx_http_kefu_bucket_key(r, ctx, b, "agents:q", &a[4 * b + 1])
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_str_set(&a[4 * b + 2], "-inf");
        a[4 * b + 3] = *max;
        cmds[b].argc = 4;
        cmds[b].argv = &a[4 * b];
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_kefu_queue_place(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    int64_t score, ngx_http_kefu_redis_handler_pt handler, void *data)
{
    ngx_str_t                  *a, max;
    ngx_http_kefu_redis_cmd_t  *cmds;

    a = ngx_palloc(r->pool, 4 * NGX_HTTP_KEFU_BUCKETS * sizeof(ngx_str_t));
    cmds = ngx_palloc(r->pool, NGX_HTTP_KEFU_BUCKETS
                               * sizeof(ngx_http_kefu_redis_cmd_t));
    max.data = ngx_pnalloc(r->pool, NGX_INT64_LEN + 1);
    if (a == NULL || cmds == NULL || max.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    max.len = ngx_sprintf(max.data, "(%L", score) - max.data;

    if (ngx_http_kefu_queue_ahead(r, ctx, &max, cmds, a) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kefu_redis_started(r,
               ngx_http_kefu_redis_send(r, cmds, NGX_HTTP_KEFU_BUCKETS,
                                        handler, data));
}


ngx_int_t
ngx_http_kefu_queue_sum(ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n,
    int64_t *sum)
{
    ngx_uint_t  b;

    *sum = 0;

    if (n != NGX_HTTP_KEFU_BUCKETS) {
        return NGX_ERROR;
    }

    for (b = 0; b < NGX_HTTP_KEFU_BUCKETS; b++) {
        if (replies[b]->type != REDIS_REPLY_INTEGER) {
            return NGX_ERROR;
        }

        *sum += replies[b]->integer;
    }

    return NGX_OK;
}


/*
 * GET /v1/admin/loss-reports: every bucket's index from the cursor on,
 * limit + 1 each, in one batch; the page is the newest of them all.
 */

static ngx_int_t
ngx_http_kefu_admin_loss_reports(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx)
{
    u_char                     *p;
    ngx_int_t                   status, rc;
    ngx_str_t                   v, id, start, count, *a;
    ngx_uint_t                  b;
    ngx_http_kefu_bo_t         *bo;
    ngx_http_kefu_redis_cmd_t  *cmds;

    bo = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_bo_t));
    a = ngx_pcalloc(r->pool, 7 * NGX_HTTP_KEFU_BUCKETS * sizeof(ngx_str_t));
    cmds = ngx_palloc(r->pool,
                  NGX_HTTP_KEFU_BUCKETS * sizeof(ngx_http_kefu_redis_cmd_t));
    if (bo == NULL || a == NULL || cmds == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = bo;
    status = -1;

    if (ngx_http_arg(r, (u_char *) "status", 6, &v) == NGX_OK) {
        status = kefu_lr_status(v.data, v.len);
        if (status < 0) {
            return ngx_http_kefu_bo_bad(r, ctx,
                       "query \"status\" must be \"received\", "
                       "\"processing\" or \"closed\"");
        }
    }

    if (ngx_http_kefu_bo_limit(r, &bo->limit) != NGX_OK) {
        return ngx_http_kefu_bo_bad(r, ctx,
                   "query \"limit\" must be an integer from 1 to 100");
    }

    if (ngx_http_arg(r, (u_char *) "cursor", 6, &v) == NGX_OK) {
        if (ngx_http_kefu_lr_member_id(&v, &id) != NGX_OK) {
            return ngx_http_kefu_bo_bad(r, ctx,
                       "query \"cursor\" must be a next_cursor of this "
                       "list");
        }

        /* exclusive: the page starts after the last report shown */
        p = ngx_pnalloc(r->pool, v.len + 1);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *p = '(';
        ngx_memcpy(p + 1, v.data, v.len);
        start.data = p;
        start.len = v.len + 1;

    } else {
        ngx_str_set(&start, "+");
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* one more than the page: whether a next page exists */
    bo->limit = ngx_http_kefu_bo_batch(r, bo->limit);
    count.data = p;
    count.len = ngx_sprintf(p, "%ui", bo->limit + 1) - p;

    for (b = 0; b < NGX_HTTP_KEFU_BUCKETS; b++) {
        ngx_str_set(&a[7 * b], "ZREVRANGEBYLEX");

        if (ngx_http_kefu_lr_index_key(r, ctx, b, status, &a[7 * b + 1])
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        a[7 * b + 2] = start;
        ngx_str_set(&a[7 * b + 3], "-");
        ngx_str_set(&a[7 * b + 4], "LIMIT");
        ngx_str_set(&a[7 * b + 5], "0");
        a[7 * b + 6] = count;
        cmds[b].argc = 7;
        cmds[b].argv = &a[7 * b];
    }

    rc = ngx_http_kefu_redis_send(r, cmds, NGX_HTTP_KEFU_BUCKETS,
                                  ngx_http_kefu_lr_page, bo);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_lr_page(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    size_t                        i, k, m, total;
    ngx_str_t                     id, *a;
    ngx_uint_t                    b;
    kefu_buf_t                    buf;
    ngx_http_kefu_bo_t           *bo = data;
    ngx_http_kefu_ctx_t          *ctx;
    ngx_http_kefu_bo_item_t      *items;
    ngx_http_kefu_redis_cmd_t    *cmds;
    ngx_http_kefu_redis_reply_t  *rep;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    if (rc != NGX_OK || n != NGX_HTTP_KEFU_BUCKETS) {
        ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
        return;
    }

    total = 0;

    for (b = 0; b < n; b++) {
        if (replies[b]->type != REDIS_REPLY_ARRAY) {
            ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
            return;
        }

        total += replies[b]->elements;
    }

    items = ngx_palloc(r->pool, (total + 1) * sizeof(ngx_http_kefu_bo_item_t));
    if (items == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* a member that is not ours is skipped, like a report gone */
    total = 0;

    for (b = 0; b < n; b++) {
        rep = replies[b];

        for (i = 0; i < rep->elements; i++) {
            if (rep->element[i]->type == REDIS_REPLY_STRING
                && ngx_http_kefu_lr_member_id(&rep->element[i]->str, &id)
                   == NGX_OK)
            {
                items[total++].member = rep->element[i]->str;
            }
        }
    }

    ngx_qsort(items, total, sizeof(ngx_http_kefu_bo_item_t),
              ngx_http_kefu_lr_newer);

    k = ngx_min(total, bo->limit);

    if (total > bo->limit) {
        bo->next = items[bo->limit - 1].member;
    }

    if (k == 0) {
        kefu_buf_init(&buf, &ctx->alloc, 64);
        kefu_buf_adds(&buf, "{\"items\":[");
        ngx_http_finalize_request(r, ngx_http_kefu_page_send(r, bo, &buf));
        return;
    }

    cmds = ngx_palloc(r->pool, k * sizeof(ngx_http_kefu_redis_cmd_t));
    a = ngx_palloc(r->pool, 2 * k * sizeof(ngx_str_t));
    if (cmds == NULL || a == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    for (m = 0; m < k; m++) {
        (void) ngx_http_kefu_lr_member_id(&items[m].member, &id);

        ngx_str_set(&a[2 * m], "HGETALL");

        if (ngx_http_kefu_lr_key(r, ctx, &id, &a[2 * m + 1]) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        cmds[m].argc = 2;
        cmds[m].argv = &a[2 * m];
    }

    rc = ngx_http_kefu_redis_send(r, cmds, k, ngx_http_kefu_lr_items, bo);
    rc = ngx_http_kefu_redis_started(r, rc);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static void
ngx_http_kefu_lr_items(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    size_t                npairs;
    ngx_uint_t            i, shown;
    kefu_buf_t            b;
    kefu_str_t           *kv;
    kefu_lr_record_t      rec;
    ngx_http_kefu_bo_t   *bo = data;
    ngx_http_kefu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
        return;
    }

    kefu_buf_init(&b, &ctx->alloc, 512 * n + 64);
    kefu_buf_adds(&b, "{\"items\":[");
    shown = 0;

    for (i = 0; i < n; i++) {
        if (ngx_http_kefu_reply_pairs(r, replies[i], 0, &kv, &npairs)
            != NGX_OK)
        {
            ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
            return;
        }

        /* indexed, then deleted (or never complete): not listed */
        if (npairs == 0
            || kefu_lr_record_from_pairs(&rec, kv, npairs) != KEFU_OK)
        {
            continue;
        }

        if (shown++) {
            kefu_buf_adds(&b, ",");
        }

        kefu_lr_record_json(&rec, 1, &b);
    }

    ngx_http_finalize_request(r, ngx_http_kefu_page_send(r, bo, &b));
}


/*
 * GET /v1/admin/tickets: every bucket's queue from the cursor on, limit
 * + 1 each, and (after a cursor) how many tickets each holds up to it,
 * in one batch; the page is the first of them all in queue order.
 */

static ngx_int_t
ngx_http_kefu_admin_tickets(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    u_char                     *p;
    int64_t                     score;
    ngx_int_t                   rc;
    ngx_str_t                   v, start, count, *a;
    ngx_uint_t                  b, ncmd;
    ngx_http_kefu_bo_t         *bo;
    ngx_http_kefu_redis_cmd_t  *cmds;

    bo = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_bo_t));
    a = ngx_pcalloc(r->pool, 12 * NGX_HTTP_KEFU_BUCKETS * sizeof(ngx_str_t));
    cmds = ngx_palloc(r->pool,
              2 * NGX_HTTP_KEFU_BUCKETS * sizeof(ngx_http_kefu_redis_cmd_t));
    p = ngx_pnalloc(r->pool, 2 * NGX_INT64_LEN + 2 + NGX_INT_T_LEN);
    if (bo == NULL || a == NULL || cmds == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = bo;
    ncmd = NGX_HTTP_KEFU_BUCKETS;

    if (ngx_http_kefu_bo_limit(r, &bo->limit) != NGX_OK) {
        return ngx_http_kefu_bo_bad(r, ctx,
                   "query \"limit\" must be an integer from 1 to 100");
    }

    if (ngx_http_arg(r, (u_char *) "cursor", 6, &v) == NGX_OK) {
        if (ngx_http_kefu_tk_score(&v, &score) != NGX_OK) {
            return ngx_http_kefu_bo_bad(r, ctx,
                       "query \"cursor\" must be a next_cursor of this "
                       "list");
        }

        start.data = p;
        p = ngx_sprintf(p, "(%L", score);
        start.len = p - start.data;

        /* the tickets still ahead of the page: its first place */
        count.data = start.data + 1;
        count.len = start.len - 1;

        if (ngx_http_kefu_queue_ahead(r, ctx, &count,
                                      &cmds[NGX_HTTP_KEFU_BUCKETS],
                                      &a[8 * NGX_HTTP_KEFU_BUCKETS])
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ncmd = 2 * NGX_HTTP_KEFU_BUCKETS;

    } else {
        ngx_str_set(&start, "-inf");
    }

    /* queue order: priority level, then arrival (the handoff script) */
    bo->limit = ngx_http_kefu_bo_batch(r, bo->limit);
    count.data = p;
    count.len = ngx_sprintf(p, "%ui", bo->limit + 1) - p;

    for (b = 0; b < NGX_HTTP_KEFU_BUCKETS; b++) {
        ngx_str_set(&a[8 * b], "ZRANGEBYSCORE");

        if (ngx_http_kefu_bucket_key(r, ctx, b, "agents:q", &a[8 * b + 1])
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        a[8 * b + 2] = start;
        ngx_str_set(&a[8 * b + 3], "+inf");
        ngx_str_set(&a[8 * b + 4], "WITHSCORES");
        ngx_str_set(&a[8 * b + 5], "LIMIT");
        ngx_str_set(&a[8 * b + 6], "0");
        a[8 * b + 7] = count;
        cmds[b].argc = 8;
        cmds[b].argv = &a[8 * b];
    }

    rc = ngx_http_kefu_redis_send(r, cmds, ncmd, ngx_http_kefu_tk_page, bo);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_tk_page(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    u_char                        *p;
    size_t                         i, k, m, total;
    ngx_str_t                     *a, *id;
    ngx_uint_t                     b;
    kefu_buf_t                     buf;
    ngx_http_kefu_bo_t            *bo = data;
    ngx_http_kefu_ctx_t           *ctx;
    ngx_http_kefu_bo_item_t       *items;
    ngx_http_kefu_redis_cmd_t     *cmds;
    ngx_http_kefu_redis_reply_t   *rep;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    if (rc != NGX_OK || n < NGX_HTTP_KEFU_BUCKETS
        || (n > NGX_HTTP_KEFU_BUCKETS
            && ngx_http_kefu_queue_sum(&replies[NGX_HTTP_KEFU_BUCKETS],
                                       n - NGX_HTTP_KEFU_BUCKETS, &bo->ahead)
               != NGX_OK))
    {
        ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
        return;
    }

    total = 0;

    for (b = 0; b < NGX_HTTP_KEFU_BUCKETS; b++) {
        if (replies[b]->type != REDIS_REPLY_ARRAY
            || replies[b]->elements % 2)
        {
            ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
            return;
        }

        total += replies[b]->elements / 2;
    }

    items = ngx_palloc(r->pool, (total + 1) * sizeof(ngx_http_kefu_bo_item_t));
    if (items == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    total = 0;

    for (b = 0; b < NGX_HTTP_KEFU_BUCKETS; b++) {
        rep = replies[b];

        for (i = 0; i < rep->elements; i += 2) {
            if (rep->element[i]->type != REDIS_REPLY_STRING
                || rep->element[i + 1]->type != REDIS_REPLY_STRING
                || ngx_http_kefu_tk_score(&rep->element[i + 1]->str,
                                          &items[total].score)
                   != NGX_OK)
            {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "kefu: unexpected score in the agents' "
                              "queue");
                ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            items[total++].member = rep->element[i]->str;
        }
    }

    ngx_qsort(items, total, sizeof(ngx_http_kefu_bo_item_t),
              ngx_http_kefu_tk_before);

    k = ngx_min(total, bo->limit);

    if (total > bo->limit) {
        p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (p == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        bo->next.data = p;
        bo->next.len = ngx_sprintf(p, "%L", items[bo->limit - 1].score) - p;
    }

    cmds = ngx_palloc(r->pool, (k + 1) * sizeof(ngx_http_kefu_redis_cmd_t));
    a = ngx_palloc(r->pool, (2 * k + 1) * sizeof(ngx_str_t));
    bo->pos = ngx_palloc(r->pool, (k + 1) * sizeof(int64_t));
    if (cmds == NULL || a == NULL || bo->pos == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    m = 0;

    for (i = 0; i < k; i++) {
        id = &items[i].member;

        ngx_str_set(&a[2 * m], "HGETALL");

        rc = ngx_http_kefu_ticket_key(r, ctx, id, &a[2 * m + 1]);

        if (rc == NGX_DECLINED) {
            continue;
        }

        if (rc != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        cmds[m].argc = 2;
        cmds[m].argv = &a[2 * m];
        bo->pos[m] = bo->ahead + (int64_t) i + 1;
        m++;
    }

    if (m == 0) {
        kefu_buf_init(&buf, &ctx->alloc, 64);
        kefu_buf_adds(&buf, "{\"items\":[");
        ngx_http_finalize_request(r, ngx_http_kefu_page_send(r, bo, &buf));
        return;
    }

    rc = ngx_http_kefu_redis_send(r, cmds, m, ngx_http_kefu_tk_items, bo);
    rc = ngx_http_kefu_redis_started(r, rc);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static void
ngx_http_kefu_tk_items(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    size_t                npairs;
    ngx_uint_t            i, shown;
    kefu_buf_t            b, item;
    kefu_str_t           *kv;
    ngx_http_kefu_bo_t   *bo = data;
    ngx_http_kefu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
        return;
    }

    kefu_buf_init(&b, &ctx->alloc, 1024 * n + 64);
    kefu_buf_adds(&b, "{\"items\":[");
    shown = 0;

    for (i = 0; i < n; i++) {
        if (ngx_http_kefu_reply_pairs(r, replies[i], 0, &kv, &npairs)
            != NGX_OK)
        {
            ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
            return;
        }

        /* queued, but its ticket expired (TTL) or is incomplete */
        kefu_buf_init(&item, &ctx->alloc, 1024);

        if (ngx_http_kefu_tk_json(ctx, kv, npairs, bo->pos[i], &item)
            != NGX_OK)
        {
            continue;
        }

        if (shown++) {
            kefu_buf_adds(&b, ",");
        }

        kefu_buf_add(&b, item.data, item.len);

        if (item.failed) {
            b.failed = 1;
        }
    }

    ngx_http_finalize_request(r, ngx_http_kefu_page_send(r, bo, &b));
}


/* GET and POST /v1/admin/tickets/{id} */

static ngx_int_t
ngx_http_kefu_admin_ticket(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    ngx_int_t                   rc;
    ngx_str_t                  *a;
    ngx_uint_t                  b;
    const kefu_json_t          *v[1];
    ngx_http_kefu_bo_t         *bo;
    ngx_http_kefu_redis_cmd_t  *cmds;

    if (r->method == NGX_HTTP_POST) {
        if (kefu_validate(ctx->body, ngx_http_kefu_ticket_change_fields, v,
                          ctx->err_buf, sizeof(ctx->err_buf))
            != KEFU_OK)
        {
            return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request",
                                            ctx->err_buf);
        }

        if (v[0]->str.len != sizeof("closed") - 1
            || ngx_strncmp(v[0]->str.data, "closed", v[0]->str.len) != 0)
        {
            return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request",
                                            "field \"status\" must be "
                                            "\"closed\"");
        }
    }

    bo = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_bo_t));
    a = ngx_palloc(r->pool, 5 * sizeof(ngx_str_t));
    cmds = ngx_palloc(r->pool, 2 * sizeof(ngx_http_kefu_redis_cmd_t));
    if (bo == NULL || a == NULL || cmds == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = bo;
    bo->id = ctx->path_arg;

    /* the id names the bucket: the ticket and its queue are there */
    rc = ngx_http_kefu_ticket_key(r, ctx, &bo->id, &bo->tkey);

    if (rc == NGX_DECLINED) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        "no such ticket");
    }

    b = (ngx_uint_t) ngx_http_kefu_id_bucket(&bo->id);

    if (rc != NGX_OK
        || ngx_http_kefu_bucket_key(r, ctx, b, "agents:q", &bo->qkey)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&a[0], "HGETALL");
    a[1] = bo->tkey;
    ngx_str_set(&a[2], "ZSCORE");
    a[3] = bo->qkey;
    a[4] = bo->id;
    cmds[0].argc = 2;
    cmds[0].argv = &a[0];
    cmds[1].argc = 3;
    cmds[1].argv = &a[2];

    rc = ngx_http_kefu_redis_send(r, cmds, 2, ngx_http_kefu_tk_loaded, bo);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_tk_loaded(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    int64_t               score;
    ngx_http_kefu_bo_t   *bo = data;
    ngx_http_kefu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    if (rc != NGX_OK || n != 2
        || ngx_http_kefu_reply_pairs(r, replies[0], 0, &bo->kv, &bo->npairs)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
        return;
    }

    if (r->method == NGX_HTTP_POST) {
        rc = ngx_http_kefu_tk_close(r, bo);

    } else if (replies[1]->type != REDIS_REPLY_STRING
               || ngx_http_kefu_tk_score(&replies[1]->str, &score) != NGX_OK)
    {
        /* ZSCORE: nil once the desk took the ticket or it was closed */
        rc = ngx_http_kefu_tk_show(r, bo, 0);

    } else {
        /* its place: the tickets ahead of it in every bucket's queue */
        rc = ngx_http_kefu_queue_place(r, ctx, score,
                                       ngx_http_kefu_tk_placed, bo);
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static void
ngx_http_kefu_tk_placed(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    int64_t              ahead;
    ngx_http_kefu_bo_t  *bo = data;

    if (rc != NGX_OK || ngx_http_kefu_queue_sum(replies, n, &ahead) != NGX_OK) {
        ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
        return;
    }

    ngx_http_finalize_request(r, ngx_http_kefu_tk_show(r, bo, ahead + 1));
}


static ngx_int_t
ngx_http_kefu_tk_show(ngx_http_request_t *r, ngx_http_kefu_bo_t *bo,
    int64_t position)
{
    kefu_buf_t            b;
    ngx_http_kefu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    kefu_buf_init(&b, &ctx->alloc, 1024);

    if (ngx_http_kefu_tk_json(ctx, bo->kv, bo->npairs, position, &b)
        != NGX_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        "no such ticket");
    }

    kefu_buf_adds(&b, "\n");

    return ngx_http_kefu_send_json(r, NGX_HTTP_OK, &b);
}


static ngx_int_t
ngx_http_kefu_tk_close(ngx_http_request_t *r, ngx_http_kefu_bo_t *bo)
{
    u_char                     *p;
    ngx_int_t                   rc;
    ngx_str_t                  *a, user, sid;
    kefu_buf_t                  b;
    kefu_str_t                 *status, *u, *s;
    ngx_http_kefu_ctx_t        *ctx;
    ngx_http_kefu_main_conf_t  *kmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    kefu_buf_init(&b, &ctx->alloc, 1024);

    if (ngx_http_kefu_tk_json(ctx, bo->kv, bo->npairs, 0, &b) != NGX_OK) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        "no such ticket");
    }

    status = ngx_http_kefu_field(bo->kv, bo->npairs, "status");
    u = ngx_http_kefu_field(bo->kv, bo->npairs, "user");
    s = ngx_http_kefu_field(bo->kv, bo->npairs, "session_id");

    if (status->len != sizeof("waiting") - 1
        || ngx_strncmp(status->data, "waiting", status->len) != 0)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_CONFLICT,
                                        "invalid_transition",
                                        "the ticket is closed already");
    }

    a = ngx_palloc(r->pool, 7 * sizeof(ngx_str_t));
    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (a == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    user.data = u->data;
    user.len = u->len;
    sid.data = s->data;
    sid.len = s->len;

    /* a ticket is in its user's bucket: the script's keys share a slot */
    if ((ngx_int_t) ngx_http_kefu_bucket(&user)
        != ngx_http_kefu_id_bucket(&bo->id))
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        "no such ticket");
    }

    /* the marker of the ticket's session, as the handoff wrote it (in
     * the user's bucket: the ticket's) */
    a[0] = bo->tkey;
    a[1] = bo->qkey;

    if (ngx_http_kefu_owner_key_of(r, ctx, "agents:open", &user, &sid,
                                   &a[2])
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[3] = bo->id;
    a[4].data = p;
    a[4].len = ngx_sprintf(p, "%T", ngx_time()) - p;
    a[5] = user;
    a[6] = sid;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_eval(r, kmcf->backoffice_scripts[0], 3, 7, a,
                                  ngx_http_kefu_tk_closed, bo);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_tk_closed(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    size_t                        npairs;
    kefu_buf_t                    b;
    ngx_str_t                    *what;
    kefu_str_t                   *kv;
    ngx_http_kefu_ctx_t          *ctx;
    ngx_http_kefu_redis_reply_t  *rep;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    if (rc != NGX_OK || n != 1 || replies[0]->type != REDIS_REPLY_ARRAY
        || replies[0]->elements < 1
        || replies[0]->element[0]->type != REDIS_REPLY_STRING)
    {
        if (rc == NGX_OK && n == 1) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "kefu: ticket close script failed: \"%V\"",
                          &replies[0]->str);
        }

        ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
        return;
    }

    rep = replies[0];
    what = &rep->element[0]->str;

    if (what->len == 6 && ngx_strncmp(what->data, "closed", 6) == 0) {
        /* a concurrent close won */
        ngx_http_finalize_request(r,
            ngx_http_kefu_send_error(r, NGX_HTTP_CONFLICT,
                                     "invalid_transition",
                                     "the ticket is closed already"));
        return;
    }

    kefu_buf_init(&b, &ctx->alloc, 1024);

    if (what->len != 2 || ngx_strncmp(what->data, "ok", 2) != 0
        || ngx_http_kefu_reply_pairs(r, rep, 1, &kv, &npairs) != NGX_OK
        || ngx_http_kefu_tk_json(ctx, kv, npairs, 0, &b) != NGX_OK)
    {
        /* expired between the read and the script */
        ngx_http_finalize_request(r,
            ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                     "no such ticket"));
        return;
    }

    kefu_buf_adds(&b, "\n");
    ngx_http_finalize_request(r, ngx_http_kefu_send_json(r, NGX_HTTP_OK, &b));
}


/*
 * The ticket's JSON from its hash; position is its 1-based place in the
 * queue, 0 when not queued.  NGX_DECLINED when the hash is empty or not
 * a ticket.
 */

static ngx_int_t
ngx_http_kefu_tk_json(ngx_http_kefu_ctx_t *ctx, kefu_str_t *kv, size_t n,
    int64_t position, kefu_buf_t *b)
{
    char         at[24];
    int64_t      level, t;
    kefu_str_t   empty, *id, *user, *sid, *prio, *reason, *status, *turns;

    empty.len = 0;
    empty.data = (unsigned char *) "";

    id = ngx_http_kefu_field(kv, n, "id");
    user = ngx_http_kefu_field(kv, n, "user");
    sid = ngx_http_kefu_field(kv, n, "session_id");
    prio = ngx_http_kefu_field(kv, n, "priority");
    status = ngx_http_kefu_field(kv, n, "status");

    if (id == NULL || user == NULL || sid == NULL || prio == NULL
        || status == NULL)
    {
        return NGX_DECLINED;
    }

    reason = ngx_http_kefu_field(kv, n, "reason");
    turns = ngx_http_kefu_field(kv, n, "turns");
    level = ngx_http_kefu_field_int(kv, n, "level");

    kefu_buf_adds(b, "{\"id\":");
    kefu_buf_add_json_str(b, id->data, id->len);
    kefu_buf_adds(b, ",\"user\":");
    kefu_buf_add_json_str(b, user->data, user->len);
    kefu_buf_adds(b, ",\"session_id\":");
    kefu_buf_add_json_str(b, sid->data, sid->len);
    kefu_buf_adds(b, ",\"priority\":");
    kefu_buf_add_json_str(b, prio->data, prio->len);
    kefu_buf_addf(b, ",\"level\":%lld,\"reason\":",
                  (long long) (level < 0 ? KEFU_PRIO_NORMAL : level));
    reason = reason ? reason : &empty;
    kefu_buf_add_json_str(b, reason->data, reason->len);
    kefu_buf_adds(b, ",\"status\":");
    kefu_buf_add_json_str(b, status->data, status->len);

    kefu_iso8601(ngx_http_kefu_field_int(kv, n, "created_at"), at);
    kefu_buf_addf(b, ",\"created_at\":\"%s\"", at);

    t = ngx_http_kefu_field_int(kv, n, "closed_at");

    if (t >= 0) {
        kefu_iso8601(t, at);
        kefu_buf_addf(b, ",\"closed_at\":\"%s\"", at);
    }

    /* 1-based place in the queue; null once taken by the desk or closed */
    if (position > 0) {
        kefu_buf_addf(b, ",\"position\":%lld", (long long) position);

    } else {
        kefu_buf_adds(b, ",\"position\":null");
    }

    kefu_buf_adds(b, ",\"turns\":");
    ngx_http_kefu_tk_turns(ctx, turns, b);
    kefu_buf_adds(b, "}");

    return NGX_OK;
}


/*
 * The turns the handoff script stored (kefu_handoff_turns_json), parsed
 * and written again field by field: what the reply carries is checked,
 * not whatever the hash holds.
 */

static void
ngx_http_kefu_tk_turns(ngx_http_kefu_ctx_t *ctx, kefu_str_t *s,
    kefu_buf_t *b)
{
    size_t              i, shown;
    kefu_json_t        *json, *it, *v;
    kefu_json_limits_t  limits;
    char                err[64];

    kefu_buf_adds(b, "[");

    if (s == NULL || s->len == 0) {
        goto done;
    }

    limits.max_depth = 4;
    limits.max_members = 64;
    limits.max_string = s->len;
    limits.max_nodes = 1024;

    json = kefu_json_parse(&ctx->alloc, s->data, s->len, &limits, err,
                           sizeof(err));
    if (json == NULL || json->type != KEFU_JSON_ARRAY) {
        goto done;
    }

    shown = 0;

    for (i = 0; i < json->n; i++) {
        it = json->items[i];

        if (it->type != KEFU_JSON_OBJECT) {
            continue;
        }

        v = kefu_json_get(it, "turn");
        if (v == NULL || v->type != KEFU_JSON_NUMBER || !v->is_int) {
            continue;
        }

        kefu_buf_addf(b, "%s{\"turn\":%lld", shown++ ? "," : "",
                      (long long) v->integer);

        v = kefu_json_get(it, "type");
        if (v != NULL && v->type == KEFU_JSON_STRING) {
            kefu_buf_adds(b, ",\"type\":");
            kefu_buf_add_json_str(b, v->str.data, v->str.len);
        }

        v = kefu_json_get(it, "q");
        if (v != NULL && v->type == KEFU_JSON_STRING) {
            kefu_buf_adds(b, ",\"q\":");
            kefu_buf_add_json_str(b, v->str.data, v->str.len);
        }

        v = kefu_json_get(it, "faq_id");
        if (v != NULL && v->type == KEFU_JSON_STRING) {
            kefu_buf_adds(b, ",\"faq_id\":");
            kefu_buf_add_json_str(b, v->str.data, v->str.len);
        }

        kefu_buf_adds(b, "}");
    }

done:

    kefu_buf_adds(b, "]");
}


static kefu_str_t *
ngx_http_kefu_field(kefu_str_t *kv, size_t n, const char *name)
{
    size_t  i, len;

    len = ngx_strlen(name);

    for (i = 0; i < n; i++) {
        if (kv[2 * i].len == len
            && ngx_strncmp(kv[2 * i].data, name, len) == 0)
        {
            return &kv[2 * i + 1];
        }
    }

    return NULL;
}


/* a non-negative integer field, or -1 when absent or not a number */

static int64_t
ngx_http_kefu_field_int(kefu_str_t *kv, size_t n, const char *name)
{
    kefu_str_t  *v;
    ngx_int_t    i;

    v = ngx_http_kefu_field(kv, n, name);

    if (v == NULL || v->len == 0 || v->len > 18) {
        return -1;
    }

    i = ngx_atoi(v->data, v->len);

    return i == NGX_ERROR ? -1 : (int64_t) i;
}


/* b holds '{"items":[' and the items: close and send */

static ngx_int_t
ngx_http_kefu_page_send(ngx_http_request_t *r, ngx_http_kefu_bo_t *bo,
    kefu_buf_t *b)
{
    kefu_buf_adds(b, "],\"next_cursor\":");

    if (bo->next.len) {
        kefu_buf_add_json_str(b, bo->next.data, bo->next.len);

    } else {
        kefu_buf_adds(b, "null");
    }

    kefu_buf_adds(b, "}\n");

    return ngx_http_kefu_send_json(r, NGX_HTTP_OK, b);
}


static ngx_int_t
ngx_http_kefu_bo_limit(ngx_http_request_t *r, ngx_uint_t *limit)
{
    ngx_int_t  n;
    ngx_str_t  v;

    *limit = NGX_HTTP_KEFU_PAGE_DEFAULT;

    if (ngx_http_arg(r, (u_char *) "limit", 5, &v) != NGX_OK) {
        return NGX_OK;
    }

    n = (v.len >= 1 && v.len <= 3) ? ngx_atoi(v.data, v.len) : NGX_ERROR;

    if (n < 1 || n > NGX_HTTP_KEFU_PAGE_MAX) {
        return NGX_ERROR;
    }

    *limit = (ngx_uint_t) n;

    return NGX_OK;
}


/*
 * A page is one command, then one per item in a batch, which must fit
 * under kefu_redis max_pending: a smaller max_pending makes pages smaller
 * (their next_cursor still goes on) instead of refusing every page.
 */

static ngx_uint_t
ngx_http_kefu_bo_batch(ngx_http_request_t *r, ngx_uint_t limit)
{
    ngx_http_kefu_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    if (kmcf->redis.max_pending > 1 && limit >= kmcf->redis.max_pending) {
        return kmcf->redis.max_pending - 1;
    }

    return limit;
}


static ngx_int_t
ngx_http_kefu_bo_bad(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    const char *message)
{
    return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                    "invalid_request", message);
}


/* "CREATED.ID": 12 digits, '.', a report's id */

static ngx_int_t
ngx_http_kefu_lr_member_id(ngx_str_t *m, ngx_str_t *id)
{
    size_t  i;

    if (m->len != NGX_HTTP_KEFU_LR_MEMBER_LEN || m->data[12] != '.') {
        return NGX_ERROR;
    }

    for (i = 0; i < 12; i++) {
        if (m->data[i] < '0' || m->data[i] > '9') {
            return NGX_ERROR;
        }
    }

    id->data = m->data + 13;
    id->len = NGX_HTTP_KEFU_ID_LEN;

    return ngx_http_kefu_id_bucket(id) == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


/* newest first: members of equal length, compared byte by byte */

static int ngx_libc_cdecl
ngx_http_kefu_lr_newer(const void *one, const void *two)
{
    const ngx_http_kefu_bo_item_t  *a = one, *b = two;

    return ngx_memcmp(b->member.data, a->member.data, a->member.len);
}


/* queue order: the score, then the id (as a sorted set orders ties) */

static int ngx_libc_cdecl
ngx_http_kefu_tk_before(const void *one, const void *two)
{
    size_t                          len;
    ngx_int_t                       c;
    const ngx_http_kefu_bo_item_t  *a = one, *b = two;

    if (a->score != b->score) {
        return a->score < b->score ? -1 : 1;
    }

    len = ngx_min(a->member.len, b->member.len);
    c = ngx_memcmp(a->member.data, b->member.data, len);

    if (c != 0) {
        return (int) c;
    }

    return (int) a->member.len - (int) b->member.len;
}


/* a queue score: an integer, 1 to 16 digits, below 2^53 */

static ngx_int_t
ngx_http_kefu_tk_score(ngx_str_t *s, int64_t *score)
{
    size_t   i;
    int64_t  v;

    if (s->len == 0 || s->len > 16) {
        return NGX_ERROR;
    }

    v = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return NGX_ERROR;
        }

        v = v * 10 + (s->data[i] - '0');
    }

    if (v >= NGX_HTTP_KEFU_SCORE_MAX) {
        return NGX_ERROR;
    }

    *score = v;

    return NGX_OK;
}

