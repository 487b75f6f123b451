/*
 * ngx_kefu: every Redis key of the module (ngx_http_kefu_keys.h).
 *
 * Tenant names are [A-Za-z0-9_-] and user ids never hold braces (checked
 * with the token), so keys of different owners cannot collide, and the
 * hash tag of each key is exactly its owner: {T:USER}, {T} or {T#NN}.
 */

#include "ngx_http_kefu_handler.h"
#include "kefu_report.h"


static ngx_int_t ngx_http_kefu_key(ngx_pool_t *pool, ngx_str_t *key,
    ngx_str_t *tenant, const char *sep, ngx_str_t *owner, const char *suffix,
    ngx_str_t *user, ngx_str_t *rest);
static ngx_int_t ngx_http_kefu_id_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const char *what, ngx_str_t *id,
    ngx_str_t *key);


/*
 * CRC-32 (IEEE, as zlib's crc32) of the user id: stable across versions,
 * platforms and the migration tool (tools/kefu-migrate-keys.pl).
 */

ngx_uint_t
ngx_http_kefu_bucket(ngx_str_t *user)
{
    return ngx_crc32_long(user->data, user->len) % NGX_HTTP_KEFU_BUCKETS;
}


ngx_int_t
ngx_http_kefu_bucket_id(ngx_http_request_t *r, ngx_uint_t bucket,
    ngx_str_t *id)
{
    ngx_str_t  hex;

    if (ngx_http_kefu_random_id(r, 16, &hex) != NGX_OK) {
        return NGX_ERROR;
    }

    id->data = ngx_pnalloc(r->pool, NGX_HTTP_KEFU_ID_LEN);
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    id->len = ngx_sprintf(id->data, "%02ui%V", bucket, &hex) - id->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_kefu_id_bucket(ngx_str_t *id)
{
    size_t      i;
    ngx_uint_t  b;

    if (id->len != NGX_HTTP_KEFU_ID_LEN
        || id->data[0] < '0' || id->data[0] > '9'
        || id->data[1] < '0' || id->data[1] > '9')
    {
        return NGX_ERROR;
    }

    b = (id->data[0] - '0') * 10 + (id->data[1] - '0');

    if (b >= NGX_HTTP_KEFU_BUCKETS) {
        return NGX_ERROR;
    }

    for (i = 2; i < id->len; i++) {
        if (!((id->data[i] >= '0' && id->data[i] <= '9')
              || (id->data[i] >= 'a' && id->data[i] <= 'f')))
        {
            return NGX_ERROR;
        }
    }

    return (ngx_int_t) b;
}


ngx_int_t
ngx_http_kefu_user_key(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    const char *suffix, ngx_str_t *key)
{
    return ngx_http_kefu_key(r->pool, key, &ctx->tenant->name, ":",
                             &ctx->user, suffix, NULL, NULL);
}


ngx_int_t
ngx_http_kefu_tenant_key(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    const char *suffix, ngx_str_t *key)
{
    return ngx_http_kefu_key(r->pool, key, &ctx->tenant->name, NULL, NULL,
                             suffix, NULL, NULL);
}


ngx_int_t
ngx_http_kefu_tenant_key_in(ngx_pool_t *pool, ngx_str_t *tenant,
    const char *suffix, ngx_str_t *key)
{
    return ngx_http_kefu_key(pool, key, tenant, NULL, NULL, suffix, NULL,
                             NULL);
}


ngx_int_t
ngx_http_kefu_day_key(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    const u_char *day8, const char *suffix, ngx_str_t *key)
{
    u_char  buf[32];

    if (ngx_strlen(suffix) > 8) {
        return NGX_ERROR;
    }

    (void) ngx_sprintf(buf, "d:%*s%s%Z", (size_t) 8, day8, suffix);

    return ngx_http_kefu_tenant_key(r, ctx, (char *) buf, key);
}


ngx_int_t
ngx_http_kefu_bucket_key(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_uint_t bucket, const char *suffix, ngx_str_t *key)
{
    u_char     nn[NGX_INT_T_LEN];
    ngx_str_t  owner;

    owner.data = nn;
    owner.len = ngx_sprintf(nn, "%02ui", bucket) - nn;

    return ngx_http_kefu_key(r->pool, key, &ctx->tenant->name, "#", &owner,
                             suffix, NULL, NULL);
}


ngx_int_t
ngx_http_kefu_bucket_day_key(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_uint_t bucket, const u_char *day8, ngx_str_t *key)
{
    u_char  buf[sizeof("d:YYYYMMDD")];

    (void) ngx_sprintf(buf, "d:%*s%Z", (size_t) 8, day8);

    return ngx_http_kefu_bucket_key(r, ctx, bucket, (char *) buf, key);
}


ngx_int_t
ngx_http_kefu_owner_key(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    const char *what, ngx_str_t *rest, ngx_str_t *key)
{
    return ngx_http_kefu_owner_key_of(r, ctx, what, &ctx->user, rest, key);
}


ngx_int_t
ngx_http_kefu_owner_key_of(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    const char *what, ngx_str_t *user, ngx_str_t *rest, ngx_str_t *key)
{
    u_char     nn[NGX_INT_T_LEN];
    ngx_str_t  owner;

    owner.data = nn;
    owner.len = ngx_sprintf(nn, "%02ui", ngx_http_kefu_bucket(user)) - nn;

    return ngx_http_kefu_key(r->pool, key, &ctx->tenant->name, "#", &owner,
                             what, user, rest);
}


ngx_int_t
ngx_http_kefu_lr_key(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_str_t *id, ngx_str_t *key)
{
    return ngx_http_kefu_id_key(r, ctx, "lr:", id, key);
}


ngx_int_t
ngx_http_kefu_ticket_key(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_str_t *id, ngx_str_t *key)
{
    return ngx_http_kefu_id_key(r, ctx, "tk:", id, key);
}


/*
 * Members of the indexes share score 0 and sort by their bytes:
 * "CREATED.ID" with the creation time zero-padded to 12 digits, so the
 * lexical order is the order of creation, then of id
 * (ngx_http_kefu_backoffice.c merges the buckets' orders).
 */

ngx_int_t
ngx_http_kefu_lr_index_key(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_uint_t bucket, ngx_int_t status, ngx_str_t *key)
{
    u_char  suffix[sizeof("lr:ix:processing")];

    if (status < 0) {
        return ngx_http_kefu_bucket_key(r, ctx, bucket, "lr:ix", key);
    }

    (void) ngx_sprintf(suffix, "lr:ix:%s%Z",
                       kefu_lr_status_name((kefu_lr_status_e) status));

    return ngx_http_kefu_bucket_key(r, ctx, bucket, (char *) suffix, key);
}


static ngx_int_t
ngx_http_kefu_id_key(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    const char *what, ngx_str_t *id, ngx_str_t *key)
{
    u_char     suffix[sizeof("lr:") + NGX_HTTP_KEFU_ID_LEN];
    ngx_int_t  b;

    b = ngx_http_kefu_id_bucket(id);
    if (b == NGX_ERROR) {
        return NGX_DECLINED;
    }

    (void) ngx_sprintf(suffix, "%s%V%Z", what, id);

    return ngx_http_kefu_bucket_key(r, ctx, (ngx_uint_t) b, (char *) suffix,
                                    key);
}


/*
 * "kefu:{" tenant [sep owner] "}:" suffix [":" LEN ":" user [":" rest]]
 */

static ngx_int_t
ngx_http_kefu_key(ngx_pool_t *pool, ngx_str_t *key, ngx_str_t *tenant,
    const char *sep, ngx_str_t *owner, const char *suffix, ngx_str_t *user,
    ngx_str_t *rest)
{
    size_t   len;
    u_char  *p;

    len = sizeof("kefu:{}:") + tenant->len + ngx_strlen(suffix);

    if (owner != NULL) {
        len += 1 + owner->len;
    }

    if (user != NULL) {
        len += 2 + NGX_SIZE_T_LEN + user->len;
    }

    if (rest != NULL) {
        len += 1 + rest->len;
    }

    key->data = ngx_pnalloc(pool, len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(key->data, "kefu:{%V", tenant);

    if (owner != NULL) {
        p = ngx_sprintf(p, "%s%V", sep, owner);
    }

    p = ngx_sprintf(p, "}:%s", suffix);

    if (user != NULL) {
        p = ngx_sprintf(p, ":%uz:%V", user->len, user);
    }

    if (rest != NULL) {
        p = ngx_sprintf(p, ":%V", rest);
    }

    key->len = p - key->data;

    return NGX_OK;
}
