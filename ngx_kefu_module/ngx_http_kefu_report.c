/*
 * ngx_kefu: one-click loss reports (一键挂失 / 一键报案).
 *
 *   POST /v1/loss-reports              Idempotency-Key, {kind, reason, ...}
 *   GET  /v1/loss-reports/{id}         the owner's view
 *   GET  /v1/admin/loss-reports/{id}   the back office's view
 *   POST /v1/admin/loss-reports/{id}   {status?, frozen?}
 *
 * A report is written by one Lua script, so the record, the user's
 * frozen flag, the idempotency record, the day's counter and the stream
 * entries for the back office (and the police) exist all or none.  All
 * these keys carry the hash tag of the user's bucket, {T#NN}, so the
 * script stays legal in Redis Cluster and one tenant's reports spread
 * over the cluster (README, "Loss reports"); the report's id names its
 * bucket.  The client hears 201 only
 * after Redis answered the script, which with appendfsync always means
 * after the write reached the disk, and with `kefu_report_replicas N`
 * only once N replicas have it too (WAIT); otherwise 503, and the retry
 * with the same key finds the report and waits for the replicas again.
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_report.h"
#include "ngx_http_kefu_scripts.h"
#include "kefu_report.h"
#include "kefu_validate.h"


#define NGX_HTTP_KEFU_IDEM_TTL  "86400"


typedef struct {
    kefu_lr_req_t               req;
    ngx_str_t                   id;
    ngx_str_t                   key;        /* the report's key */
    time_t                      now;
    kefu_lr_record_t            rec;        /* admin: the state read */
    int                         new_status;
    int                         new_frozen;
    ngx_http_kefu_redis_pin_t   pin;        /* where the script ran */
    unsigned                    admin:1;
    unsigned                    replay:1;
    unsigned                    replicated:1;
} ngx_http_kefu_lr_t;


static const kefu_field_t  ngx_http_kefu_lr_change_fields[] = {
    { "status", KEFU_F_STRING, 0, 1, 16 },
    { "frozen", KEFU_F_BOOL, 0, 0, 0 },
    { NULL, 0, 0, 0, 0 }
};


static ngx_int_t ngx_http_kefu_loss_report_create(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_loss_report_get(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_admin_loss_report(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_idem_key(ngx_http_request_t *r,
    ngx_str_t *key);
static void ngx_http_kefu_lr_replicated(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_uint_t replicas);
static ngx_int_t ngx_http_kefu_lr_not_replicated(ngx_http_request_t *r,
    ngx_http_kefu_lr_t *lr);
static ngx_int_t ngx_http_kefu_lr_answer(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_lr_t *lr);
static void ngx_http_kefu_lr_created(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_lr_reply_new(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_lr_t *lr);
static ngx_int_t ngx_http_kefu_lr_read(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_lr_t *lr);
static void ngx_http_kefu_lr_loaded(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_lr_change(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_lr_t *lr);
static void ngx_http_kefu_lr_changed(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_lr_send_record(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_lr_t *lr, kefu_str_t *kv,
    size_t n);
static ngx_int_t ngx_http_kefu_lr_location(ngx_http_request_t *r,
    ngx_str_t *id);


/* kmcf->report_scripts[] */
#define NGX_HTTP_KEFU_LR_CREATE  0
#define NGX_HTTP_KEFU_LR_UPDATE  1

static const ngx_http_kefu_lua_t  *const ngx_http_kefu_report_scripts[] = {
    &ngx_http_kefu_script_loss_report_create,
    &ngx_http_kefu_script_loss_report_update,
    NULL
};


static ngx_http_kefu_route_t  ngx_http_kefu_report_routes[] = {
    { ngx_string("loss-reports"), NGX_HTTP_POST,
      ngx_http_kefu_loss_report_create, 1, 0, 0 },
    { ngx_string("loss-reports/"), NGX_HTTP_GET,
      ngx_http_kefu_loss_report_get, 1, 0, 1 },
    { ngx_string("admin/loss-reports/"), NGX_HTTP_GET|NGX_HTTP_POST,
      ngx_http_kefu_admin_loss_report, 1, 1, 1 },
    { ngx_null_string, 0, NULL, 0, 0, 0 }
};


const ngx_http_kefu_endpoint_t  ngx_http_kefu_report_endpoint = {
    ngx_http_kefu_report_routes,
    ngx_http_kefu_report_scripts,
    offsetof(ngx_http_kefu_main_conf_t, report_scripts),
    NULL, NULL, NULL
};


/* POST /v1/loss-reports */

static ngx_int_t
ngx_http_kefu_loss_report_create(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx)
{
    u_char                     *fp, *p;
    ngx_int_t                   rc;
    ngx_str_t                   idem, *a;
    ngx_uint_t                  b;
    ngx_http_kefu_lr_t         *lr;
    ngx_http_kefu_main_conf_t  *kmcf;
    u_char                      day[16];
    u_char                      quota[sizeof("lr:n:YYYYMMDD")];

    rc = ngx_http_kefu_idem_key(r, &idem);
    if (rc != NGX_OK) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                   "invalid_idempotency_key",
                   rc == NGX_DECLINED
                   ? "header Idempotency-Key is required (1 to 255 "
                     "printable ASCII characters)"
                   : "header Idempotency-Key must be 1 to 255 printable "
                     "ASCII characters, given once");
    }

    lr = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_lr_t));
    if (lr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = lr;

    if (kefu_lr_parse(ctx->body, &lr->req, ctx->err_buf,
                      sizeof(ctx->err_buf))
        != KEFU_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request", ctx->err_buf);
    }

    fp = ngx_pnalloc(r->pool, KEFU_LR_FP_LEN + 1);
    a = ngx_pcalloc(r->pool, 24 * sizeof(ngx_str_t));
    if (fp == NULL || a == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (kefu_lr_fingerprint(&lr->req, &ctx->alloc, (char *) fp) != KEFU_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kefu: SHA-256 of a loss report failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_http_kefu_bucket(&ctx->user);

    if (ngx_http_kefu_bucket_id(r, b, &lr->id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lr->now = ngx_time();
    ngx_http_kefu_day(lr->now, day);

    /* KEYS */
    if (ngx_http_kefu_owner_key(r, ctx, "lr:idem", &idem, &a[0]) != NGX_OK
        || ngx_http_kefu_lr_key(r, ctx, &lr->id, &a[1]) != NGX_OK
        || ngx_http_kefu_bucket_key(r, ctx, b, "frozen", &a[2]) != NGX_OK
        || ngx_http_kefu_bucket_key(r, ctx, b, "reports", &a[3]) != NGX_OK
        || ngx_http_kefu_bucket_key(r, ctx, b, "police", &a[4]) != NGX_OK
        || ngx_http_kefu_bucket_day_key(r, ctx, b, day + 2, &a[5]) != NGX_OK
        || ngx_http_kefu_lr_index_key(r, ctx, b, -1, &a[6]) != NGX_OK
        || ngx_http_kefu_lr_index_key(r, ctx, b, KEFU_LR_RECEIVED, &a[7])
           != NGX_OK
        || ngx_http_kefu_lr_index_member(r, lr->now, &lr->id, &a[21])
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lr->key = a[1];

    /* ARGV */
    a[8].data = fp;
    a[8].len = KEFU_LR_FP_LEN;
    a[9] = lr->id;
    a[10] = ctx->user;
    a[11].data = (u_char *) kefu_lr_kind_name(lr->req.kind);
    a[11].len = ngx_strlen(a[11].data);
    a[12].data = (u_char *) kefu_lr_reason_name(lr->req.reason);
    a[12].len = ngx_strlen(a[12].data);
    a[13].data = lr->req.card_last4.data;
    a[13].len = lr->req.card_last4.len;

    if (lr->req.police_report) {
        ngx_str_set(&a[14], "1");

    } else {
        ngx_str_set(&a[14], "0");
    }

    a[15].data = lr->req.note.data;
    a[15].len = lr->req.note.len;

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[16].data = p;
    a[16].len = ngx_sprintf(p, "%T", lr->now) - p;
    ngx_str_set(&a[17], NGX_HTTP_KEFU_IDEM_TTL);
    ngx_str_set(&a[18], NGX_HTTP_KEFU_DAY_TTL);
    a[19] = idem;
    a[20] = ctx->tenant->name;

    /* KEYS[9], the user's count of the day, goes before the ARGV */
    ngx_memmove(&a[9], &a[8], 14 * sizeof(ngx_str_t));
    (void) ngx_sprintf(quota, "lr:n:%s%Z", day + 2);

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL
        || ngx_http_kefu_owner_key(r, ctx, (char *) quota, NULL, &a[8])
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[23].data = p;
    a[23].len = ngx_sprintf(p, "%ui", ctx->tenant->loss_reports_per_day) - p;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_eval_pinned(r,
                                  kmcf->report_scripts[NGX_HTTP_KEFU_LR_CREATE],
                                  9, 24, a, &lr->pin,
                                  ngx_http_kefu_lr_created, lr);
    return ngx_http_kefu_redis_started(r, rc);
}


/*
 * kefu_report_replicas N [timeout=T]: a loss report is acknowledged only
 * once N replicas have it.  The report's script and the WAIT after it go
 * on a connection of the report's node that carries only these, where
 * one WAIT serves every report whose script went before it
 * (ngx_http_kefu_redis_wait).  A script may wait there behind one WAIT,
 * then for its own: each step must end within the kefu_redis timeout, so
 * T (50ms unless given) stays under it; a report answers within about
 * 2T.  kefu_redis must come first.
 */
char *
ngx_http_kefu_report_replicas(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_kefu_main_conf_t  *kmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value, s;

    if (kmcf->report_replicas) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);
    if (n < 1 || n > 16) {
        return "wants 1 to 16 replicas";
    }

    kmcf->report_replicas = (ngx_uint_t) n;
    kmcf->report_replicas_timeout = 50;

    if (cf->args->nelts == 3) {
        if (value[2].len <= 8
            || ngx_strncmp(value[2].data, "timeout=", 8) != 0)
        {
            return "wants timeout=T after the number of replicas";
        }

        s.data = value[2].data + 8;
        s.len = value[2].len - 8;

        kmcf->report_replicas_timeout = ngx_parse_time(&s, 0);
        if (kmcf->report_replicas_timeout == (ngx_msec_t) NGX_ERROR
            || kmcf->report_replicas_timeout == 0)
        {
            return "has an invalid timeout";
        }
    }

    if (!kmcf->redis.configured) {
        return "needs kefu_redis before it";
    }

    if (kmcf->report_replicas_timeout >= kmcf->redis.timeout) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_report_replicas timeout %M ms must be "
                           "shorter than the kefu_redis timeout (%M ms)",
                           kmcf->report_replicas_timeout,
                           kmcf->redis.timeout);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * NGX_OK with the key, NGX_DECLINED when absent, NGX_ERROR when invalid
 * or repeated (two keys would make "the same request" ambiguous).
 */

static ngx_int_t
ngx_http_kefu_idem_key(ngx_http_request_t *r, ngx_str_t *key)
{
    ngx_uint_t        i, found;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static const char  name[] = "Idempotency-Key";

    found = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof(name) - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) name,
                               sizeof(name) - 1)
               != 0)
        {
            continue;
        }

        if (found++) {
            return NGX_ERROR;
        }

        *key = h[i].value;
    }

    if (!found) {
        return NGX_DECLINED;
    }

    if (!kefu_idem_key_valid(key->data, key->len)) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_kefu_lr_created(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    ngx_str_t                     *what;
    ngx_http_kefu_lr_t            *lr = data;
    ngx_http_kefu_ctx_t           *ctx;
    ngx_http_kefu_redis_reply_t   *rep;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    /* no answer in time: the report may or may not exist; a retry with
     * the same key finds out without doubling it.  An error reply: the
     * script did not run (e.g. OOM) or failed before its first write */
    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n, 1,
                                     "script loss_report_create", &lr->key);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    rep = replies[0];

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2
        || rep->element[0]->type != REDIS_REPLY_STRING
        || rep->element[1]->type != REDIS_REPLY_STRING)
    {
        ngx_http_finalize_request(r,
            ngx_http_kefu_redis_unexpected(r, rep,
                                           "script loss_report_create",
                                           &lr->key));
        return;
    }

    what = &rep->element[0]->str;

    if (what->len == 6 && ngx_strncmp(what->data, "replay", 6) == 0) {
        lr->replay = 1;
        lr->id = rep->element[1]->str;

        if (ngx_http_kefu_lr_key(r, ctx, &lr->id, &lr->key) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    if (lr->replay
        || (what->len == 7 && ngx_strncmp(what->data, "created", 7) == 0))
    {
        rc = ngx_http_kefu_lr_answer(r, ctx, lr);
        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }

        return;
    }

    if (what->len == 5 && ngx_strncmp(what->data, "limit", 5) == 0) {
        ngx_http_finalize_request(r,
            ngx_http_kefu_send_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                     "too_many_reports",
                                     "this user made as many loss reports "
                                     "today as a user may; call the "
                                     "hotline"));
        return;
    }

    if (what->len == 8 && ngx_strncmp(what->data, "conflict", 8) == 0) {
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Entity");
        ngx_http_finalize_request(r,
            ngx_http_kefu_send_error(r, 422, "idempotency_conflict",
                                     "this Idempotency-Key was used for a "
                                     "different loss report"));
        return;
    }

    /* "exists": 128 random bits collided, or a bug */
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "kefu: loss report id \"%V\" exists", &lr->id);
    ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
}


/*
 * The report is written (or was, for a replay): with kefu_report_replicas,
 * first WAIT for the replicas; then 201 with the new report, or 200 with
 * the stored one.
 */
static ngx_int_t
ngx_http_kefu_lr_answer(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_lr_t *lr)
{
    ngx_int_t                   rc;
    ngx_http_kefu_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    if (kmcf->report_replicas == 0 || lr->replicated) {
        return lr->replay ? ngx_http_kefu_lr_read(r, ctx, lr)
                          : ngx_http_kefu_lr_reply_new(r, ctx, lr);
    }

    rc = ngx_http_kefu_redis_wait(r, &lr->pin, kmcf->report_replicas,
                                  kmcf->report_replicas_timeout,
                                  ngx_http_kefu_lr_replicated, lr);

    switch (rc) {

    case NGX_OK:
        return NGX_DONE;

    case NGX_DECLINED:
        /* the script's connection is gone (where its write went is
         * unknown) or too busy for a WAIT: as if WAIT had said too few */
        return ngx_http_kefu_lr_not_replicated(r, lr);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


static void
ngx_http_kefu_lr_replicated(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_uint_t replicas)
{
    ngx_http_kefu_lr_t          *lr = data;
    ngx_http_kefu_ctx_t         *ctx;
    ngx_http_kefu_main_conf_t   *kmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);
    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    if (rc != NGX_OK || replicas < kmcf->report_replicas) {
        ngx_http_finalize_request(r, ngx_http_kefu_lr_not_replicated(r, lr));
        return;
    }

    lr->replicated = 1;

    rc = ngx_http_kefu_lr_answer(r, ctx, lr);
    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* saved on the primary, not (yet) on enough replicas: not acknowledged;
 * the retry with the same key finds it */
static ngx_int_t
ngx_http_kefu_lr_not_replicated(ngx_http_request_t *r, ngx_http_kefu_lr_t *lr)
{
    ngx_http_kefu_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "kefu: loss report \"%V\" not on %ui replicas "
                  "within %M ms", &lr->id, kmcf->report_replicas,
                  kmcf->report_replicas_timeout);

    return ngx_http_kefu_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "not_replicated",
                                    "the report is not on enough Redis "
                                    "replicas yet; retry with the same "
                                    "Idempotency-Key");
}


static ngx_int_t
ngx_http_kefu_lr_reply_new(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_lr_t *lr)
{
    kefu_buf_t         b;
    kefu_lr_record_t   rec;

    ngx_memzero(&rec, sizeof(kefu_lr_record_t));

    rec.id.data = lr->id.data;
    rec.id.len = lr->id.len;
    rec.user.data = ctx->user.data;
    rec.user.len = ctx->user.len;
    rec.kind.data = (u_char *) kefu_lr_kind_name(lr->req.kind);
    rec.kind.len = ngx_strlen(rec.kind.data);
    rec.reason.data = (u_char *) kefu_lr_reason_name(lr->req.reason);
    rec.reason.len = ngx_strlen(rec.reason.data);
    rec.status.data = (u_char *) kefu_lr_status_name(KEFU_LR_RECEIVED);
    rec.status.len = ngx_strlen(rec.status.data);
    rec.card_last4 = lr->req.card_last4;
    rec.note = lr->req.note;
    rec.created_at = lr->now;
    rec.updated_at = lr->now;
    rec.frozen = 1;
    rec.police_report = lr->req.police_report;

    kefu_buf_init(&b, &ctx->alloc, 512);
    kefu_lr_record_json(&rec, 0, &b);
    kefu_buf_adds(&b, "\n");

    if (ngx_http_kefu_lr_location(r, &lr->id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kefu_send_json(r, NGX_HTTP_CREATED, &b);
}


/*
 * Location of a new report: the mount as configured (the prefix
 * location's name, or an exact location's name up to its "/v1/") and
 * "v1/loss-reports/<id>".  Nothing is copied from the request URI, which
 * may hold double slashes, dot segments or bytes a header must not
 * carry.  Under a regex location there is no literal mount: the
 * reference is relative ("loss-reports/<id>"), which a client resolves
 * against the URI it posted to (RFC 9110 10.2.2, RFC 3986 5.2).
 */
static ngx_int_t
ngx_http_kefu_lr_location(ngx_http_request_t *r, ngx_str_t *id)
{
    u_char                    *p, *v1;
    ngx_str_t                  mount;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ngx_str_null(&mount);

    if (!clcf->named
#if (NGX_PCRE)
        && clcf->regex == NULL
#endif
        && clcf->name.len && clcf->name.data[0] == '/')
    {
        mount = clcf->name;

        v1 = ngx_strlcasestrn(mount.data, mount.data + mount.len,
                              (u_char *) "/v1/", 4 - 1);
        if (v1 != NULL) {
            mount.len = v1 + 1 - mount.data;
        }
    }

    p = ngx_pnalloc(r->pool, mount.len + sizeof("/v1/loss-reports/")
                             + id->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (mount.len == 0) {
        (void) ngx_sprintf(p, "loss-reports/%V%Z", id);

    } else {
        (void) ngx_sprintf(p, "%V%s/loss-reports/%V%Z", &mount,
                           mount.data[mount.len - 1] == '/' ? "v1" : "/v1",
                           id);
    }

    return ngx_http_kefu_add_header(r, "Location", (char *) p);
}


/* GET /v1/loss-reports/{id}: 404 for everyone but the owner */

static ngx_int_t
ngx_http_kefu_loss_report_get(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx)
{
    u_char              *p;
    ngx_int_t            rc;
    ngx_http_kefu_lr_t  *lr;

    lr = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_lr_t));
    if (lr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = lr;
    lr->id = ctx->path_arg;

    /* an id from before the buckets: the migration put the report in the
     * owner's bucket, under the id with that bucket in front */
    if (lr->id.len == NGX_HTTP_KEFU_OLD_ID_LEN) {
        p = ngx_pnalloc(r->pool, NGX_HTTP_KEFU_ID_LEN);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        lr->id.len = ngx_sprintf(p, "%02ui%V", ngx_http_kefu_bucket(&ctx->user),
                                 &ctx->path_arg)
                     - p;
        lr->id.data = p;
    }

    rc = ngx_http_kefu_lr_key(r, ctx, &lr->id, &lr->key);

    if (rc == NGX_DECLINED) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        "no such loss report");
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kefu_lr_read(r, ctx, lr);
}


/* GET and POST /v1/admin/loss-reports/{id} */

static ngx_int_t
ngx_http_kefu_admin_loss_report(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx)
{
    int                  i;
    ngx_int_t            rc;
    const kefu_json_t   *v[2];
    ngx_http_kefu_lr_t  *lr;

    lr = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_lr_t));
    if (lr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = lr;
    lr->admin = 1;
    lr->new_status = -1;
    lr->new_frozen = -1;

    if (r->method == NGX_HTTP_POST) {
        if (kefu_validate(ctx->body, ngx_http_kefu_lr_change_fields, v,
                          ctx->err_buf, sizeof(ctx->err_buf))
            != KEFU_OK)
        {
            return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request",
                                            ctx->err_buf);
        }

        if (v[0] == NULL && v[1] == NULL) {
            return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request",
                                            "give \"status\", \"frozen\" "
                                            "or both");
        }

        if (v[0] != NULL) {
            i = kefu_lr_status(v[0]->str.data, v[0]->str.len);
            if (i < 0) {
                return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                           "invalid_request",
                           "field \"status\" must be \"received\", "
                           "\"processing\" or \"closed\"");
            }

            lr->new_status = i;
        }

        if (v[1] != NULL) {
            lr->new_frozen = v[1]->boolean ? 1 : 0;
        }
    }

    lr->id = ctx->path_arg;

    rc = ngx_http_kefu_lr_key(r, ctx, &lr->id, &lr->key);

    if (rc == NGX_DECLINED) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        "no such loss report");
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kefu_lr_read(r, ctx, lr);
}


static ngx_int_t
ngx_http_kefu_lr_read(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_lr_t *lr)
{
    ngx_int_t                   rc;
    ngx_str_t                  *argv;
    ngx_http_kefu_redis_cmd_t   cmd;

    argv = ngx_palloc(r->pool, 2 * sizeof(ngx_str_t));
    if (argv == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&argv[0], "HGETALL");
    argv[1] = lr->key;
    cmd.argc = 2;
    cmd.argv = argv;

    rc = ngx_http_kefu_redis_send(r, &cmd, 1, ngx_http_kefu_lr_loaded, lr);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_lr_loaded(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    size_t                npairs;
    kefu_str_t           *kv;
    ngx_http_kefu_lr_t   *lr = data;
    ngx_http_kefu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n, 1,
                                     "HGETALL of a loss report", &lr->key);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ngx_http_kefu_reply_pairs(r, replies[0], 0, &kv, &npairs) != NGX_OK) {
        ngx_http_finalize_request(r,
            ngx_http_kefu_redis_unexpected(r, replies[0],
                                           "HGETALL of a loss report",
                                           &lr->key));
        return;
    }

    if (lr->admin && r->method == NGX_HTTP_POST) {
        if (npairs == 0
            || kefu_lr_record_from_pairs(&lr->rec, kv, npairs) != KEFU_OK)
        {
            ngx_http_finalize_request(r,
                ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                         "no such loss report"));
            return;
        }

        rc = ngx_http_kefu_lr_change(r, ctx, lr);
        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }

        return;
    }

    ngx_http_finalize_request(r,
                          ngx_http_kefu_lr_send_record(r, ctx, lr, kv, npairs));
}


static ngx_int_t
ngx_http_kefu_lr_change(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_lr_t *lr)
{
    int                         kind, reason, status, nstatus, nfrozen;
    u_char                     *p;
    ngx_int_t                   rc;
    ngx_uint_t                  b;
    ngx_str_t                  *a;
    const char                 *why;
    ngx_http_kefu_main_conf_t  *kmcf;

    kind = kefu_lr_kind(lr->rec.kind.data, lr->rec.kind.len);
    reason = kefu_lr_reason(lr->rec.reason.data, lr->rec.reason.len);
    status = kefu_lr_status(lr->rec.status.data, lr->rec.status.len);

    if (kefu_lr_change_ok(kind, reason, status, lr->rec.frozen,
                          lr->new_status, lr->new_frozen, &why)
        != KEFU_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_CONFLICT,
                                        "invalid_transition", why);
    }

    nstatus = lr->new_status >= 0 ? lr->new_status : status;
    nfrozen = lr->new_frozen >= 0 ? lr->new_frozen : lr->rec.frozen;

    a = ngx_pcalloc(r->pool, 11 * sizeof(ngx_str_t));
    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (a == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[0] = lr->key;
    b = (ngx_uint_t) ngx_http_kefu_id_bucket(&lr->id);

    if (ngx_http_kefu_bucket_key(r, ctx, b, "frozen", &a[1]) != NGX_OK
        || ngx_http_kefu_lr_index_key(r, ctx, b, -1, &a[2]) != NGX_OK
        || ngx_http_kefu_lr_index_key(r, ctx, b, KEFU_LR_RECEIVED, &a[3])
           != NGX_OK
        || ngx_http_kefu_lr_index_key(r, ctx, b, KEFU_LR_PROCESSING, &a[4])
           != NGX_OK
        || ngx_http_kefu_lr_index_key(r, ctx, b, KEFU_LR_CLOSED, &a[5])
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[6].data = lr->rec.status.data;
    a[6].len = lr->rec.status.len;

    if (lr->rec.frozen) {
        ngx_str_set(&a[7], "1");

    } else {
        ngx_str_set(&a[7], "0");
    }

    a[8].data = (u_char *) kefu_lr_status_name(nstatus);
    a[8].len = ngx_strlen(a[8].data);

    if (nfrozen) {
        ngx_str_set(&a[9], "1");

    } else {
        ngx_str_set(&a[9], "0");
    }

    a[10].data = p;
    a[10].len = ngx_sprintf(p, "%T", ngx_time()) - p;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_eval(r,
                                  kmcf->report_scripts[NGX_HTTP_KEFU_LR_UPDATE],
                                  6, 11, a, ngx_http_kefu_lr_changed, lr);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_lr_changed(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    size_t                        npairs;
    ngx_str_t                    *what;
    kefu_str_t                   *kv;
    ngx_http_kefu_lr_t           *lr = data;
    ngx_http_kefu_ctx_t          *ctx;
    ngx_http_kefu_redis_reply_t  *rep;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n, 1,
                                     "script loss_report_update", &lr->key);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (replies[0]->type != REDIS_REPLY_ARRAY || replies[0]->elements < 1
        || replies[0]->element[0]->type != REDIS_REPLY_STRING)
    {
        ngx_http_finalize_request(r,
            ngx_http_kefu_redis_unexpected(r, replies[0],
                                           "script loss_report_update",
                                           &lr->key));
        return;
    }

    rep = replies[0];
    what = &rep->element[0]->str;

    if (what->len == 2 && ngx_strncmp(what->data, "ok", 2) == 0) {
        if (ngx_http_kefu_reply_pairs(r, rep, 1, &kv, &npairs) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_http_finalize_request(r,
                          ngx_http_kefu_lr_send_record(r, ctx, lr, kv, npairs));
        return;
    }

    if (what->len == 5 && ngx_strncmp(what->data, "stale", 5) == 0) {
        ngx_http_finalize_request(r,
            ngx_http_kefu_send_error(r, NGX_HTTP_CONFLICT, "conflict",
                                     "the report changed meanwhile; read "
                                     "it again and retry"));
        return;
    }

    ngx_http_finalize_request(r,
        ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                 "no such loss report"));
}


static ngx_int_t
ngx_http_kefu_lr_send_record(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_lr_t *lr, kefu_str_t *kv, size_t n)
{
    kefu_buf_t        b;
    kefu_lr_record_t  rec;

    /* the tenant is in the key; the user must be the caller */
    if (n == 0 || kefu_lr_record_from_pairs(&rec, kv, n) != KEFU_OK
        || (!lr->admin
            && (rec.user.len != ctx->user.len
                || ngx_memcmp(rec.user.data, ctx->user.data, ctx->user.len)
                   != 0)))
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        "no such loss report");
    }

    if (lr->replay
        && ngx_http_kefu_add_header(r, "Idempotent-Replayed", "true")
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    kefu_buf_init(&b, &ctx->alloc, 512);
    kefu_lr_record_json(&rec, lr->admin, &b);
    kefu_buf_adds(&b, "\n");

    return ngx_http_kefu_send_json(r, NGX_HTTP_OK, &b);
}


ngx_int_t
ngx_http_kefu_lr_index_member(ngx_http_request_t *r, time_t created,
    ngx_str_t *id, ngx_str_t *member)
{
    member->data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 1 + id->len);
    if (member->data == NULL) {
        return NGX_ERROR;
    }

    member->len = ngx_sprintf(member->data, "%012T.%V", created, id)
                  - member->data;

    return NGX_OK;
}
