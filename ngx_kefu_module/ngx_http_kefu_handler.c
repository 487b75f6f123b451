/*
 * ngx_kefu: the request pipeline shared by every endpoint: routing under
 * any mount prefix (the routes of ngx_http_kefu_endpoints[]),
 * authentication, body reading and JSON parsing, and the JSON error
 * contract; and the helpers endpoints share (ngx_http_kefu_handler.h).
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_tenant.h"

#include <openssl/rand.h>


#define NGX_HTTP_KEFU_ANY_BODY  (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH)


static ngx_int_t ngx_http_kefu_route(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_allow(ngx_http_request_t *r,
    ngx_uint_t allowed);
static ngx_int_t ngx_http_kefu_authenticate(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_check_content_type(ngx_http_request_t *r);
static void ngx_http_kefu_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_kefu_parse_body(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_run(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_fail(ngx_http_kefu_ctx_t *ctx,
    ngx_uint_t status, const char *code, const char *message);
static ngx_int_t ngx_http_kefu_reject(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);


ngx_int_t
ngx_http_kefu_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_kefu_ctx_t       *ctx;
    ngx_http_kefu_loc_conf_t  *klcf;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->alloc.alloc = ngx_http_kefu_pool_alloc;
    ctx->alloc.ctx = r->pool;
    ngx_http_set_ctx(r, ctx, ngx_http_kefu_module);

    rc = ngx_http_kefu_route(r, ctx);

    if (rc == NGX_OK && ctx->route->auth) {
        rc = ngx_http_kefu_authenticate(r, ctx);
    }

    if (rc != NGX_OK) {
        return ngx_http_kefu_reject(r, rc, ctx->err_code, ctx->err_msg);
    }

    if (!(r->method & NGX_HTTP_KEFU_ANY_BODY)) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = ngx_http_kefu_run(r, ctx);
        if (rc == NGX_DONE) {
            r->main->count++;
        }

        return rc;
    }

    if (ngx_http_kefu_check_content_type(r) != NGX_OK) {
        return ngx_http_kefu_reject(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "unsupported_media_type",
                                    "Content-Type must be application/json "
                                    "(UTF-8)");
    }

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kefu_module);

    if (r->headers_in.content_length_n > (off_t) klcf->max_body) {
        return ngx_http_kefu_reject(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    "body_too_large",
                                    "request body is too large");
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_kefu_body_handler);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_kefu_route(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    u_char                           *p, *last;
    size_t                            len;
    ngx_uint_t                        allowed;
    ngx_http_kefu_route_t            *rt;
    const ngx_http_kefu_endpoint_t  **ep;

    p = ngx_strlcasestrn(r->uri.data, r->uri.data + r->uri.len,
                         (u_char *) "/v1/", 4 - 1);
    if (p == NULL) {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_NOT_FOUND,
                                  "not_found", "no such endpoint");
    }

    p += 4;
    last = r->uri.data + r->uri.len;
    len = last - p;

    allowed = 0;

    for (ep = ngx_http_kefu_endpoints; *ep; ep++) {

        if ((*ep)->routes == NULL) {
            continue;
        }

        for (rt = (*ep)->routes; rt->path.len; rt++) {

            if (rt->prefix) {
                if (len <= rt->path.len
                    || ngx_strncmp(p, rt->path.data, rt->path.len) != 0
                    || ngx_strlchr(p + rt->path.len, last, '/') != NULL)
                {
                    continue;
                }

            } else if (len != rt->path.len
                       || ngx_strncmp(p, rt->path.data, len) != 0)
            {
                continue;
            }

            allowed |= rt->methods;

            if (rt->methods & r->method) {
                goto found;
            }
        }
    }

    if (allowed == 0) {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_NOT_FOUND,
                                  "not_found", "no such endpoint");
    }

    if (ngx_http_kefu_allow(r, allowed) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kefu_fail(ctx, NGX_HTTP_NOT_ALLOWED,
                              "method_not_allowed",
                              "method not allowed for this endpoint");

found:

    ctx->route = rt;

    if (rt->prefix) {
        ctx->path_arg.data = p + rt->path.len;
        ctx->path_arg.len = last - ctx->path_arg.data;
    }

    return NGX_OK;
}


/* "Allow: GET, POST": every method some route of the path answers */

static ngx_int_t
ngx_http_kefu_allow(ngx_http_request_t *r, ngx_uint_t allowed)
{
    u_char      *buf, *p;
    ngx_uint_t   i;

    static const struct {
        ngx_uint_t   method;
        const char  *name;
    } methods[] = {
        { NGX_HTTP_GET, "GET" },
        { NGX_HTTP_HEAD, "HEAD" },
        { NGX_HTTP_POST, "POST" },
        { NGX_HTTP_PUT, "PUT" },
        { NGX_HTTP_PATCH, "PATCH" },
        { NGX_HTTP_DELETE, "DELETE" },
        { NGX_HTTP_OPTIONS, "OPTIONS" }
    };

    buf = ngx_pnalloc(r->pool, sizeof("GET, HEAD, POST, PUT, PATCH, DELETE, "
                                      "OPTIONS"));
    if (buf == NULL) {
        return NGX_ERROR;
    }

    p = buf;

    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (allowed & methods[i].method) {
            p = ngx_sprintf(p, "%s%s", p == buf ? "" : ", ",
                            methods[i].name);
        }
    }

    *p = '\0';

    return ngx_http_kefu_add_header(r, "Allow", (char *) buf);
}


static ngx_int_t
ngx_http_kefu_authenticate(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    u_char                     *p, *last;
    ngx_str_t                  *auth;
    kefu_jwt_t                  jwt;
    kefu_jwt_rc_e               rc;
    ngx_http_kefu_tenant_t     *t;
    ngx_http_kefu_main_conf_t  *kmcf;

    if (r->headers_in.authorization == NULL) {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_UNAUTHORIZED,
                                  "missing_token",
                                  "Authorization: Bearer token required");
    }

    auth = &r->headers_in.authorization->value;
    p = auth->data;
    last = p + auth->len;

    if (auth->len < sizeof("Bearer ") - 1
        || ngx_strncasecmp(p, (u_char *) "Bearer ", sizeof("Bearer ") - 1)
           != 0)
    {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_UNAUTHORIZED,
                                  "invalid_token",
                                  "Authorization scheme must be Bearer");
    }

    p += sizeof("Bearer ") - 1;

    while (p < last && *p == ' ') {
        p++;
    }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    ngx_memzero(&jwt, sizeof(kefu_jwt_t));

    rc = kefu_jwt_peek(&ctx->alloc, p, last - p, &jwt);
    if (rc != KEFU_JWT_OK) {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_UNAUTHORIZED,
                                  "invalid_token", kefu_jwt_strerror(rc));
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    t = ngx_http_kefu_find_tenant(kmcf, jwt.tenant.data, jwt.tenant.len);
    if (t == NULL) {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_UNAUTHORIZED,
                                  "invalid_token", "unknown tenant");
    }

    rc = kefu_jwt_verify(&ctx->alloc, p, last - p, t->secret.data,
                         t->secret.len, ngx_time(), &jwt);
    if (rc != KEFU_JWT_OK) {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_UNAUTHORIZED,
                                  "invalid_token", kefu_jwt_strerror(rc));
    }

    if (ctx->route->admin && !jwt.admin) {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_FORBIDDEN,
                                  "forbidden",
                                  "this endpoint needs an admin token");
    }

    ctx->tenant = t;
    ctx->user.data = jwt.sub.data;
    ctx->user.len = jwt.sub.len;
    ctx->admin = jwt.admin;

    return NGX_OK;
}


static ngx_int_t
ngx_http_kefu_check_content_type(ngx_http_request_t *r)
{
    u_char     *p, *last;
    ngx_str_t  *ct;

    static const char  json[] = "application/json";

    if (r->headers_in.content_type == NULL) {
        goto bad;
    }

    ct = &r->headers_in.content_type->value;
    p = ct->data;
    last = p + ct->len;

    if (ct->len < sizeof(json) - 1
        || ngx_strncasecmp(p, (u_char *) json, sizeof(json) - 1) != 0)
    {
        goto bad;
    }

    p += sizeof(json) - 1;

    while (p < last && *p == ' ') {
        p++;
    }

    if (p == last) {
        return NGX_OK;
    }

    if (*p != ';') {
        goto bad;
    }

    /* the only parameter that can change the meaning is charset */
    if (ngx_strlcasestrn(p, last, (u_char *) "charset", 7 - 1) != NULL
        && ngx_strlcasestrn(p, last, (u_char *) "utf-8", 5 - 1) == NULL)
    {
        goto bad;
    }

    return NGX_OK;

bad:

    return NGX_DECLINED;
}


static void
ngx_http_kefu_body_handler(ngx_http_request_t *r)
{
    ngx_int_t             rc;
    ngx_http_kefu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_parse_body(r, ctx);

    if (rc == NGX_OK) {
        rc = ngx_http_kefu_run(r, ctx);

    } else if (rc != NGX_HTTP_INTERNAL_SERVER_ERROR) {
        rc = ngx_http_kefu_send_error(r, rc, ctx->err_code, ctx->err_msg);
    }

    if (rc == NGX_DONE) {
        return;
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_kefu_parse_body(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    u_char                    *body, *p;
    off_t                      len;
    ssize_t                    n;
    ngx_buf_t                 *b;
    ngx_chain_t               *cl;
    kefu_json_t               *json;
    kefu_json_limits_t         limits;
    ngx_http_kefu_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kefu_module);

    if (r->request_body == NULL) {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_BAD_REQUEST, "invalid_json",
                                  "request body required");
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len > (off_t) klcf->max_body) {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "body_too_large",
                                  "request body is too large");
    }

    if (len == 0) {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_BAD_REQUEST, "invalid_json",
                                  "request body required");
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* bodies larger than client_body_buffer_size sit in a temp file */
    p = body;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                              b->file_pos);
            if (n != b->file_last - b->file_pos) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            p += n;
            continue;
        }

        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    limits.max_depth = 8;
    limits.max_members = 256;
    limits.max_string = klcf->max_body;
    limits.max_nodes = 4096;

    json = kefu_json_parse(&ctx->alloc, body, len, &limits, ctx->err_buf,
                           sizeof(ctx->err_buf));
    if (json == NULL) {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_BAD_REQUEST, "invalid_json",
                                  ctx->err_buf);
    }

    if (json->type != KEFU_JSON_OBJECT) {
        return ngx_http_kefu_fail(ctx, NGX_HTTP_BAD_REQUEST, "invalid_json",
                                  "body must be a JSON object");
    }

    ctx->body = json;

    return NGX_OK;
}


static ngx_int_t
ngx_http_kefu_run(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ctx->route->handler(r, ctx);

    if (rc == NGX_DONE) {
        /* notice a client that goes away while Redis answers */
        r->read_event_handler = ngx_http_test_reading;
    }

    return rc;
}


/* Notes why the request is refused; the caller answers. */

static ngx_int_t
ngx_http_kefu_fail(ngx_http_kefu_ctx_t *ctx, ngx_uint_t status,
    const char *code, const char *message)
{
    ctx->err_code = code;
    ctx->err_msg = message;

    return status;
}


/* An error before the body was read: drop the body, then answer. */

static ngx_int_t
ngx_http_kefu_reject(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kefu_send_error(r, status, code, message);
}


ngx_int_t
ngx_http_kefu_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    u_char               c;
    kefu_buf_t           b;
    const char          *m;
    ngx_http_kefu_ctx_t *ctx;
    kefu_alloc_t         alloc;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    if (ctx == NULL) {
        alloc.alloc = ngx_http_kefu_pool_alloc;
        alloc.ctx = r->pool;

    } else {
        alloc = ctx->alloc;
    }

    kefu_buf_init(&b, &alloc, 128);
    kefu_buf_adds(&b, "{\"error\":{\"code\":\"");
    kefu_buf_adds(&b, code);
    kefu_buf_adds(&b, "\",\"message\":\"");

    /* messages are ours and ASCII; anything else is masked, not echoed */
    for (m = message; *m; m++) {
        c = (u_char) *m;

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            c = '?';
        }

        kefu_buf_add(&b, &c, 1);
    }

    kefu_buf_adds(&b, "\"}}\n");

    if (status == NGX_HTTP_UNAUTHORIZED) {
        r->headers_out.www_authenticate =
                                   ngx_list_push(&r->headers_out.headers);
        if (r->headers_out.www_authenticate == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        r->headers_out.www_authenticate->hash = 1;
        ngx_str_set(&r->headers_out.www_authenticate->key,
                    "WWW-Authenticate");
        ngx_str_set(&r->headers_out.www_authenticate->value,
                    "Bearer realm=\"kefu\"");
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        if (ngx_http_kefu_add_header(r, "Retry-After", "1") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_kefu_send_json(r, status, &b);
}


ngx_int_t
ngx_http_kefu_add_header(ngx_http_request_t *r, const char *key,
    const char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);

    return NGX_OK;
}


ngx_int_t
ngx_http_kefu_send_json(ngx_http_request_t *r, ngx_uint_t status,
    kefu_buf_t *body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (body->failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = body->len;
    ngx_str_set(&r->headers_out.content_type,
                "application/json; charset=utf-8");
    r->headers_out.content_type_len = sizeof("application/json") - 1;
    r->headers_out.content_type_lowcase = NULL;

    if (ngx_http_kefu_add_header(r, "Cache-Control", "no-store") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_kefu_send_no_content(ngx_http_request_t *r)
{
    if (ngx_http_kefu_add_header(r, "Cache-Control", "no-store") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* The day's counter key suffix, "d:YYYYMMDD" (UTC). */

void
ngx_http_kefu_day(time_t now, u_char *buf)
{
    ngx_tm_t  tm;

    ngx_gmtime(now, &tm);
    (void) ngx_sprintf(buf, "d:%04d%02d%02d%Z", tm.ngx_tm_year, tm.ngx_tm_mon,
                       tm.ngx_tm_mday);
}


/* An unguessable id: n random bytes from OpenSSL, hex encoded. */

ngx_int_t
ngx_http_kefu_random_id(ngx_http_request_t *r, size_t n, ngx_str_t *id)
{
    u_char  raw[32];

    if (n > sizeof(raw) || RAND_bytes(raw, (int) n) != 1) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kefu: RAND_bytes() failed");
        return NGX_ERROR;
    }

    id->data = ngx_pnalloc(r->pool, 2 * n);
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    id->len = ngx_hex_dump(id->data, raw, n) - id->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_kefu_num(ngx_http_request_t *r, int64_t v, ngx_str_t *s)
{
    s->data = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (s->data == NULL) {
        return NGX_ERROR;
    }

    s->len = ngx_sprintf(s->data, "%L", v) - s->data;

    return NGX_OK;
}


/* Redis is down, full or did not confirm in time: 503 + Retry-After. */

ngx_int_t
ngx_http_kefu_unavailable(ngx_http_request_t *r)
{
    return ngx_http_kefu_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                    "redis_unavailable",
                                    "the store did not answer in time; "
                                    "retry");
}


/*
 * The outcome of an endpoint's Redis batch, decided here for all of them.
 * NGX_DECLINED: Redis answered, n == expect and no reply is an error;
 * the caller goes on.  Anything else: the answer is sent, finalize the
 * request with it: 503 + Retry-After when Redis was unreachable or slow, or its
 * error will pass by itself (ngx_http_kefu_redis_error_transient:
 * LOADING, BUSY, OOM, ...); 500 internal_error when it will not (a key
 * of the wrong type, a script error, a redirect outside cluster mode):
 * retrying cannot help, so the client is not told to, and the log names
 * the script (or command) and the key's prefix.
 */
ngx_int_t
ngx_http_kefu_redis_outcome(ngx_http_request_t *r, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n, ngx_uint_t expect,
    const char *what, ngx_str_t *key)
{
    ngx_uint_t                    i;
    ngx_http_kefu_redis_reply_t  *rep;

    if (rc != NGX_OK || n != expect) {
        return ngx_http_kefu_unavailable(r);
    }

    for (i = 0; i < n; i++) {
        rep = replies[i];

        if (rep->type != REDIS_REPLY_ERROR) {
            continue;
        }

        if (ngx_http_kefu_redis_error_transient(&rep->str)) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "kefu: %s failed, Redis is busy: \"%V\"", what,
                          &rep->str);
            return ngx_http_kefu_unavailable(r);
        }

        return ngx_http_kefu_redis_unexpected(r, rep, what, key);
    }

    return NGX_DECLINED;
}


/* A reply that cannot be (an error, or the wrong shape): 500. */

ngx_int_t
ngx_http_kefu_redis_unexpected(ngx_http_request_t *r,
    ngx_http_kefu_redis_reply_t *rep, const char *what, ngx_str_t *key)
{
    ngx_http_kefu_redis_log_reply(r, rep, what, key);

    return ngx_http_kefu_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "internal_error",
                                    "the store refused the request; "
                                    "retrying will not help");
}


/*
 * Logs a reply that is an error or of the wrong shape: [warn] for an
 * error that passes by itself, else [error], with the script (or
 * command) and the key's prefix.  For the endpoints that answer without
 * Redis too (/v1/ask, /v1/suggestions).
 */
void
ngx_http_kefu_redis_log_reply(ngx_http_request_t *r,
    ngx_http_kefu_redis_reply_t *rep, const char *what, ngx_str_t *key)
{
    u_char      *p, *k, *last, *open, *close, prefix[96];
    size_t       len;
    ngx_uint_t   transient, level;

    /* the key up to the segment after its hash tag, users left out:
     * "kefu:{demo:...}:s" for "kefu:{demo:u1}:s:<session>" */
    p = prefix;

    if (key != NULL && key->len) {
        last = key->data + key->len;
        open = ngx_strlchr(key->data, last, '{');
        close = open ? ngx_strlchr(open, last, '}') : NULL;

        if (close == NULL) {
            len = ngx_min(key->len, 32);
            p = ngx_cpymem(p, key->data, len);

        } else {
            k = ngx_strlchr(open, close, ':');
            len = ngx_min((size_t) ((k ? k : close) - key->data), 40);
            p = ngx_cpymem(p, key->data, len);

            if (k != NULL) {
                p = ngx_cpymem(p, ":...", 4);
            }

            k = close + 1;
            if (k < last && *k == ':') {
                k++;
            }

            k = ngx_strlchr(k, last, ':');
            len = ngx_min((size_t) ((k ? k : last) - close), 32);
            p = ngx_cpymem(p, close, len);
        }

        for (k = prefix; k < p; k++) {
            if (*k < 0x20 || *k >= 0x7f) {
                *k = '?';
            }
        }
    }

    transient = rep->type == REDIS_REPLY_ERROR
                && ngx_http_kefu_redis_error_transient(&rep->str);

    level = transient ? NGX_LOG_WARN : NGX_LOG_ERR;

    ngx_log_error(level, r->connection->log, 0,
                  "kefu: %s on \"%*s\" failed, %s: reply type %d \"%*s\"",
                  what, (size_t) (p - prefix), prefix,
                  transient ? "Redis is busy" : "not retryable", rep->type,
                  ngx_min(rep->str.len, 200), rep->str.data);
}


ngx_int_t
ngx_http_kefu_reply_pairs(ngx_http_request_t *r,
    ngx_http_kefu_redis_reply_t *rep, size_t skip, kefu_str_t **kv,
    size_t *n)
{
    size_t       i, m;
    kefu_str_t  *out;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < skip
        || (rep->elements - skip) % 2)
    {
        return NGX_ERROR;
    }

    m = rep->elements - skip;

    out = ngx_palloc(r->pool, (m + 1) * sizeof(kefu_str_t));
    if (out == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < m; i++) {
        if (rep->element[skip + i]->type != REDIS_REPLY_STRING) {
            return NGX_ERROR;
        }

        out[i].data = rep->element[skip + i]->str.data;
        out[i].len = rep->element[skip + i]->str.len;
    }

    *kv = out;
    *n = m / 2;

    return NGX_OK;
}


/*
 * 64 bits of a normalised question, in hex: what the per-user sets of
 * unanswered questions hold (16 bytes instead of up to 200).
 */
void
ngx_http_kefu_question_hash(ngx_str_t *q, u_char *hex16)
{
    (void) ngx_sprintf(hex16, "%08xD%08xD", ngx_murmur_hash2(q->data, q->len),
                       ngx_crc32_long(q->data, q->len));
}


/* ?name=N of the request's query: absent gives def, else 1..max */

ngx_int_t
ngx_http_kefu_query_uint(ngx_http_request_t *r, const char *name,
    ngx_uint_t def, ngx_uint_t max, ngx_uint_t *out)
{
    ngx_int_t  n;
    ngx_str_t  v;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &v) != NGX_OK) {
        *out = def;
        return NGX_OK;
    }

    n = ngx_atoi(v.data, v.len);
    if (n == NGX_ERROR || n < 1 || (ngx_uint_t) n > max) {
        return NGX_ERROR;
    }

    *out = n;

    return NGX_OK;
}


/* What an endpoint returns after queueing its Redis work. */

ngx_int_t
ngx_http_kefu_redis_started(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc == NGX_OK) {
        return NGX_DONE;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_kefu_unavailable(r);
    }

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* The one-click actions of a reply: loss_report, police_report, handoff. */

void
ngx_http_kefu_add_actions(kefu_buf_t *b, unsigned actions)
{
    unsigned     bit;
    ngx_uint_t   n;

    n = 0;

    for (bit = KEFU_ACT_LOSS_REPORT; bit <= KEFU_ACT_HANDOFF; bit <<= 1) {
        if (!(actions & bit)) {
            continue;
        }

        kefu_buf_addf(b, "%s{\"type\":\"%s\",\"endpoint\":\"%s\"}",
                      n++ ? "," : "", kefu_kb_action_name(bit),
                      bit == KEFU_ACT_HANDOFF ? "/v1/handoff"
                                              : "/v1/loss-reports");
    }
}
