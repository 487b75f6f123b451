/*
 * ngx_kefu: the back office's lists and the agent queue's tickets.
 *
 *   GET  /v1/admin/loss-reports?status=S&limit=N&cursor=C  newest first
 *   GET  /v1/admin/tickets?limit=N&cursor=C                the queue
 *   GET  /v1/admin/tickets/{id}                            one ticket
 *   POST /v1/admin/tickets/{id}  {"status":"closed"}       close it
 *
 * Pages are read by position, not by offset: the loss reports' cursor is
 * the index member of the last report shown ("CREATED.ID", see
 * ngx_http_kefu_lr_index_key), the tickets' cursor the queue score of the
 * last ticket shown (level * 2^40 + arrival).  A report or ticket that
 * was there when the first page was read is thus shown once, whatever
 * arrives meanwhile.  A page is read with one range command, then the
 * records with one pipelined batch; a record that is gone is skipped.
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_report.h"
#include "ngx_http_kefu_scripts.h"
#include "kefu_report.h"
#include "kefu_validate.h"


#define NGX_HTTP_KEFU_PAGE_DEFAULT  20
#define NGX_HTTP_KEFU_PAGE_MAX      100
#define NGX_HTTP_KEFU_TICKET_ID_LEN 32          /* hex of 16 random bytes */
#define NGX_HTTP_KEFU_SCORE_MAX     9007199254740992LL     /* 2^53 */


typedef struct {
    ngx_str_t               key;        /* index, or the agents' queue */
    ngx_str_t               id;         /* ticket id */
    ngx_str_t               tkey;       /* ticket key */
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
static ngx_int_t ngx_http_kefu_lr_member_id(ngx_str_t *m, ngx_str_t *id);
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
static void ngx_http_kefu_tk_closed(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_tk_load(ngx_http_request_t *r,
    ngx_http_kefu_bo_t *bo, ngx_str_t *id, ngx_str_t *cmd_args,
    ngx_http_kefu_redis_cmd_t *cmds);
static ngx_int_t ngx_http_kefu_tk_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_str_t *id, ngx_str_t *key);
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
static ngx_int_t ngx_http_kefu_is_hex(u_char *p, size_t len);


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


/* GET /v1/admin/loss-reports */

static ngx_int_t
ngx_http_kefu_admin_loss_reports(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx)
{
    u_char                     *p;
    ngx_int_t                   status, rc;
    ngx_str_t                   v, id, *a;
    ngx_http_kefu_bo_t         *bo;
    ngx_http_kefu_redis_cmd_t   cmd;

    bo = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_bo_t));
    a = ngx_pcalloc(r->pool, 7 * sizeof(ngx_str_t));
    if (bo == NULL || a == NULL) {
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
        a[2].data = p;
        a[2].len = v.len + 1;

    } else {
        ngx_str_set(&a[2], "+");
    }

    if (ngx_http_kefu_lr_index_key(r, ctx, status, &bo->key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* one more than the page: whether a next page exists */
    ngx_str_set(&a[0], "ZREVRANGEBYLEX");
    a[1] = bo->key;
    ngx_str_set(&a[3], "-");
    ngx_str_set(&a[4], "LIMIT");
    ngx_str_set(&a[5], "0");
    bo->limit = ngx_http_kefu_bo_batch(r, bo->limit);
    a[6].data = p;
    a[6].len = ngx_sprintf(p, "%ui", bo->limit + 1) - p;

    cmd.argc = 7;
    cmd.argv = a;

    rc = ngx_http_kefu_redis_send(r, &cmd, 1, ngx_http_kefu_lr_page, bo);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_lr_page(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    u_char                        suffix[sizeof("lr:") + KEFU_LR_ID_LEN];
    size_t                        i, k, m;
    kefu_buf_t                    b;
    ngx_str_t                     id, *a;
    ngx_http_kefu_bo_t           *bo = data;
    ngx_http_kefu_ctx_t          *ctx;
    ngx_http_kefu_redis_cmd_t    *cmds;
    ngx_http_kefu_redis_reply_t  *rep;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    if (rc != NGX_OK || n != 1 || replies[0]->type != REDIS_REPLY_ARRAY) {
        ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
        return;
    }

    rep = replies[0];
    k = ngx_min(rep->elements, bo->limit);

    if (rep->elements > bo->limit) {
        bo->next = rep->element[bo->limit - 1]->str;
    }

    cmds = ngx_palloc(r->pool, (k + 1) * sizeof(ngx_http_kefu_redis_cmd_t));
    a = ngx_palloc(r->pool, (2 * k + 1) * sizeof(ngx_str_t));
    if (cmds == NULL || a == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    m = 0;

    for (i = 0; i < k; i++) {
        /* a member that is not ours is skipped, like a report gone */
        if (rep->element[i]->type != REDIS_REPLY_STRING
            || ngx_http_kefu_lr_member_id(&rep->element[i]->str, &id)
               != NGX_OK)
        {
            continue;
        }

        (void) ngx_sprintf(suffix, "lr:%V%Z", &id);

        ngx_str_set(&a[2 * m], "HGETALL");

        if (ngx_http_kefu_tenant_key(r, ctx, (char *) suffix, &a[2 * m + 1])
            != NGX_OK)
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        cmds[m].argc = 2;
        cmds[m].argv = &a[2 * m];
        m++;
    }

    if (m == 0) {
        kefu_buf_init(&b, &ctx->alloc, 64);
        kefu_buf_adds(&b, "{\"items\":[");
        ngx_http_finalize_request(r, ngx_http_kefu_page_send(r, bo, &b));
        return;
    }

    rc = ngx_http_kefu_redis_send(r, cmds, m, ngx_http_kefu_lr_items, bo);
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


/* GET /v1/admin/tickets */

static ngx_int_t
ngx_http_kefu_admin_tickets(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    u_char                     *p;
    int64_t                     score;
    ngx_int_t                   rc;
    ngx_str_t                   v, *a;
    ngx_uint_t                  n;
    ngx_http_kefu_bo_t         *bo;
    ngx_http_kefu_redis_cmd_t   cmds[2];

    bo = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_bo_t));
    a = ngx_pcalloc(r->pool, 12 * sizeof(ngx_str_t));
    p = ngx_pnalloc(r->pool, 2 * NGX_INT64_LEN + 2 + NGX_INT_T_LEN);
    if (bo == NULL || a == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = bo;
    n = 1;

    if (ngx_http_kefu_bo_limit(r, &bo->limit) != NGX_OK) {
        return ngx_http_kefu_bo_bad(r, ctx,
                   "query \"limit\" must be an integer from 1 to 100");
    }

    if (ngx_http_kefu_tenant_key(r, ctx, "agents:q", &bo->key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_arg(r, (u_char *) "cursor", 6, &v) == NGX_OK) {
        if (ngx_http_kefu_tk_score(&v, &score) != NGX_OK) {
            return ngx_http_kefu_bo_bad(r, ctx,
                       "query \"cursor\" must be a next_cursor of this "
                       "list");
        }

        a[2].data = p;
        p = ngx_sprintf(p, "(%L", score);
        a[2].len = p - a[2].data;

        /* the tickets still ahead of the page: its first place */
        ngx_str_set(&a[8], "ZCOUNT");
        a[9] = bo->key;
        ngx_str_set(&a[10], "-inf");
        a[11].data = a[2].data + 1;
        a[11].len = a[2].len - 1;
        cmds[1].argc = 4;
        cmds[1].argv = &a[8];
        n = 2;

    } else {
        ngx_str_set(&a[2], "-inf");
    }

    /* queue order: priority level, then arrival (the handoff script) */
    bo->limit = ngx_http_kefu_bo_batch(r, bo->limit);
    ngx_str_set(&a[0], "ZRANGEBYSCORE");
    a[1] = bo->key;
    ngx_str_set(&a[3], "+inf");
    ngx_str_set(&a[4], "WITHSCORES");
    ngx_str_set(&a[5], "LIMIT");
    ngx_str_set(&a[6], "0");
    a[7].data = p;
    a[7].len = ngx_sprintf(p, "%ui", bo->limit + 1) - p;

    cmds[0].argc = 8;
    cmds[0].argv = a;

    rc = ngx_http_kefu_redis_send(r, cmds, n, ngx_http_kefu_tk_page, bo);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_tk_page(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    u_char                        *p;
    size_t                         i, k, m;
    int64_t                        score;
    kefu_buf_t                     b;
    ngx_str_t                     *a, *id;
    ngx_http_kefu_bo_t            *bo = data;
    ngx_http_kefu_ctx_t           *ctx;
    ngx_http_kefu_redis_cmd_t     *cmds;
    ngx_http_kefu_redis_reply_t   *rep;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    if (rc != NGX_OK || n < 1 || replies[0]->type != REDIS_REPLY_ARRAY
        || replies[0]->elements % 2
        || (n == 2 && replies[1]->type != REDIS_REPLY_INTEGER))
    {
        ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
        return;
    }

    rep = replies[0];
    k = ngx_min(rep->elements / 2, bo->limit);
    bo->ahead = (n == 2) ? replies[1]->integer : 0;

    if (rep->elements / 2 > bo->limit) {
        if (rep->element[2 * bo->limit - 1]->type != REDIS_REPLY_STRING
            || ngx_http_kefu_tk_score(&rep->element[2 * bo->limit - 1]->str,
                                      &score)
               != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "kefu: unexpected score in the agents' queue");
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (p == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        bo->next.data = p;
        bo->next.len = ngx_sprintf(p, "%L", score) - p;
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
        id = &rep->element[2 * i]->str;

        if (rep->element[2 * i]->type != REDIS_REPLY_STRING
            || !kefu_is_ident(id->data, id->len, 64))
        {
            continue;
        }

        ngx_str_set(&a[2 * m], "HGETALL");

        if (ngx_http_kefu_tk_key(r, ctx, id, &a[2 * m + 1]) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        cmds[m].argc = 2;
        cmds[m].argv = &a[2 * m];
        bo->pos[m] = bo->ahead + (int64_t) i + 1;
        m++;
    }

    if (m == 0) {
        kefu_buf_init(&b, &ctx->alloc, 64);
        kefu_buf_adds(&b, "{\"items\":[");
        ngx_http_finalize_request(r, ngx_http_kefu_page_send(r, bo, &b));
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

    if (ctx->path_arg.len != NGX_HTTP_KEFU_TICKET_ID_LEN
        || !ngx_http_kefu_is_hex(ctx->path_arg.data, ctx->path_arg.len))
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        "no such ticket");
    }

    bo = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_bo_t));
    a = ngx_palloc(r->pool, 5 * sizeof(ngx_str_t));
    cmds = ngx_palloc(r->pool, 2 * sizeof(ngx_http_kefu_redis_cmd_t));
    if (bo == NULL || a == NULL || cmds == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = bo;
    bo->id = ctx->path_arg;

    if (ngx_http_kefu_tenant_key(r, ctx, "agents:q", &bo->key) != NGX_OK
        || ngx_http_kefu_tk_load(r, bo, &bo->id, a, cmds) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_kefu_redis_send(r, cmds, 2, ngx_http_kefu_tk_loaded, bo);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_tk_loaded(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    size_t                      npairs;
    u_char                     *p;
    int64_t                     position;
    kefu_buf_t                  b;
    ngx_str_t                  *a, user, sid;
    kefu_str_t                 *kv, *status, *u, *s;
    ngx_http_kefu_bo_t         *bo = data;
    ngx_http_kefu_ctx_t        *ctx;
    ngx_http_kefu_main_conf_t  *kmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    if (rc != NGX_OK || n != 2
        || ngx_http_kefu_reply_pairs(r, replies[0], 0, &kv, &npairs)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
        return;
    }

    kefu_buf_init(&b, &ctx->alloc, 1024);

    /* ZRANK: nil once the desk took the ticket or it was closed */
    position = replies[1]->type == REDIS_REPLY_INTEGER
               ? replies[1]->integer + 1 : 0;

    if (ngx_http_kefu_tk_json(ctx, kv, npairs, position, &b) != NGX_OK) {
        ngx_http_finalize_request(r,
            ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                     "no such ticket"));
        return;
    }

    if (r->method != NGX_HTTP_POST) {
        kefu_buf_adds(&b, "\n");
        ngx_http_finalize_request(r,
                                  ngx_http_kefu_send_json(r, NGX_HTTP_OK, &b));
        return;
    }

    status = ngx_http_kefu_field(kv, npairs, "status");
    u = ngx_http_kefu_field(kv, npairs, "user");
    s = ngx_http_kefu_field(kv, npairs, "session_id");

    if (status->len != sizeof("waiting") - 1
        || ngx_strncmp(status->data, "waiting", status->len) != 0)
    {
        ngx_http_finalize_request(r,
            ngx_http_kefu_send_error(r, NGX_HTTP_CONFLICT,
                                     "invalid_transition",
                                     "the ticket is closed already"));
        return;
    }

    a = ngx_palloc(r->pool, 7 * sizeof(ngx_str_t));
    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (a == NULL || p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    user.data = u->data;
    user.len = u->len;
    sid.data = s->data;
    sid.len = s->len;

    /* the marker of the ticket's session, as the handoff wrote it */
    a[0] = bo->tkey;
    a[1] = bo->key;

    if (ngx_http_kefu_owner_key_of(r, ctx, "agents:open", &user, &sid,
                                   &a[2])
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    a[3] = bo->id;
    a[4].data = p;
    a[4].len = ngx_sprintf(p, "%T", ngx_time()) - p;
    a[5] = user;
    a[6] = sid;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_eval(r, kmcf->backoffice_scripts[0], 3, 7, a,
                                  ngx_http_kefu_tk_closed, bo);
    rc = ngx_http_kefu_redis_started(r, rc);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
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


/* HGETALL of the ticket and ZRANK in the queue: 5 argv, 2 commands */

static ngx_int_t
ngx_http_kefu_tk_load(ngx_http_request_t *r, ngx_http_kefu_bo_t *bo,
    ngx_str_t *id, ngx_str_t *a, ngx_http_kefu_redis_cmd_t *cmds)
{
    ngx_http_kefu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    ngx_str_set(&a[0], "HGETALL");

    if (ngx_http_kefu_tk_key(r, ctx, id, &a[1]) != NGX_OK) {
        return NGX_ERROR;
    }

    bo->tkey = a[1];

    ngx_str_set(&a[2], "ZRANK");
    a[3] = bo->key;
    a[4] = *id;

    cmds[0].argc = 2;
    cmds[0].argv = &a[0];
    cmds[1].argc = 3;
    cmds[1].argv = &a[2];

    return NGX_OK;
}


static ngx_int_t
ngx_http_kefu_tk_key(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_str_t *id, ngx_str_t *key)
{
    u_char  suffix[sizeof("tk:") + 64];

    if (id->len > 64) {
        return NGX_ERROR;
    }

    (void) ngx_sprintf(suffix, "tk:%V%Z", id);

    return ngx_http_kefu_tenant_key(r, ctx, (char *) suffix, key);
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


/* "CREATED.ID": 12 digits, '.', the report's 32 hex digits */

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
    id->len = KEFU_LR_ID_LEN;

    return ngx_http_kefu_is_hex(id->data, id->len) ? NGX_OK : NGX_ERROR;
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


static ngx_int_t
ngx_http_kefu_is_hex(u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) {
            return 0;
        }
    }

    return 1;
}
