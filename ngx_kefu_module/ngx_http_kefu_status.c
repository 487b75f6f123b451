/*
 * ngx_kefu: GET /v1/health (no token) and GET /v1/whoami (token; counts
 * the caller's calls in Redis so the whole path is exercised).
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_scripts.h"


/* a user's call counter lives 30 days from its first call (or its
 * 1024th...), then starts over: nothing of a user stays forever */
#define NGX_HTTP_KEFU_CALLS_TTL     "2592000"
#define NGX_HTTP_KEFU_CALLS_RENEW   1024


static ngx_int_t ngx_http_kefu_health(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_whoami(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static void ngx_http_kefu_whoami_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);


/* kmcf->calls_script */
static const ngx_http_kefu_lua_t  *const ngx_http_kefu_status_scripts[] = {
    &ngx_http_kefu_script_calls_expire,
    NULL
};


static ngx_http_kefu_route_t  ngx_http_kefu_status_routes[] = {
    { ngx_string("health"), NGX_HTTP_GET, ngx_http_kefu_health, 0, 0, 0 },
    { ngx_string("whoami"), NGX_HTTP_GET, ngx_http_kefu_whoami, 1, 0, 0 },
    { ngx_null_string, 0, NULL, 0, 0, 0 }
};


const ngx_http_kefu_endpoint_t  ngx_http_kefu_status_endpoint = {
    ngx_http_kefu_status_routes,
    ngx_http_kefu_status_scripts,
    offsetof(ngx_http_kefu_main_conf_t, calls_script),
    NULL, NULL, NULL
};


static ngx_int_t
ngx_http_kefu_health(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    kefu_buf_t                  b;
    ngx_uint_t                  masters, up;
    const char                 *redis;
    ngx_http_kefu_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    if (!kmcf->redis.configured) {
        redis = "unconfigured";

    } else {
        redis = ngx_http_kefu_redis_connected() ? "up" : "down";
    }

    kefu_buf_init(&b, &ctx->alloc, 192);
    kefu_buf_addf(&b, "{\"status\":\"ok\",\"version\":\"%s\","
                  "\"redis\":\"%s\",", KEFU_VERSION, redis);

    /* this worker's view of the cluster */
    if (ngx_http_kefu_redis_cluster(&masters, &up)) {
        kefu_buf_addf(&b, "\"redis_cluster\":{\"masters\":%lu,"
                      "\"connections_up\":%lu},", (unsigned long) masters,
                      (unsigned long) up);
    }

    kefu_buf_addf(&b, "\"tenants\":%lu}\n",
                  (unsigned long) kmcf->tenants.nelts);

    return ngx_http_kefu_send_json(r, NGX_HTTP_OK, &b);
}


static ngx_int_t
ngx_http_kefu_whoami(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    ngx_int_t                   rc;
    ngx_str_t                  *argv;
    ngx_http_kefu_redis_cmd_t   cmd;

    argv = ngx_palloc(r->pool, 2 * sizeof(ngx_str_t));
    if (argv == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&argv[0], "INCR");

    if (ngx_http_kefu_user_key(r, ctx, "calls", &argv[1]) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cmd.argc = 2;
    cmd.argv = argv;

    rc = ngx_http_kefu_redis_send(r, &cmd, 1, ngx_http_kefu_whoami_done,
                                  &argv[1]);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_whoami_done(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    kefu_buf_t                  b;
    ngx_str_t                   a[2];
    long long                   calls;
    ngx_http_kefu_ctx_t        *ctx;
    ngx_http_kefu_main_conf_t  *kmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n, 1, "INCR of calls",
                                     data);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (replies[0]->type != REDIS_REPLY_INTEGER) {
        ngx_http_finalize_request(r,
            ngx_http_kefu_redis_unexpected(r, replies[0], "INCR of calls",
                                           data));
        return;
    }

    calls = replies[0]->integer;

    /* a new counter gets its TTL; every 1024th call sets it again, in
     * case that write was lost.  Nobody waits for it. */
    if (calls == 1 || calls % NGX_HTTP_KEFU_CALLS_RENEW == 0) {
        kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);
        a[0] = *(ngx_str_t *) data;
        ngx_str_set(&a[1], NGX_HTTP_KEFU_CALLS_TTL);

        (void) ngx_http_kefu_redis_eval_detached(kmcf->calls_script, 1, 2,
                                                 a);
    }

    kefu_buf_init(&b, &ctx->alloc, 256);
    kefu_buf_adds(&b, "{\"tenant\":");
    kefu_buf_add_json_str(&b, ctx->tenant->name.data, ctx->tenant->name.len);
    kefu_buf_adds(&b, ",\"user\":");
    kefu_buf_add_json_str(&b, ctx->user.data, ctx->user.len);
    kefu_buf_addf(&b, ",\"scope\":\"%s\",\"version\":\"%s\",\"calls\":%lld}\n",
                  ctx->admin ? "admin" : "user", KEFU_VERSION, calls);

    ngx_http_finalize_request(r, ngx_http_kefu_send_json(r, NGX_HTTP_OK, &b));
}
