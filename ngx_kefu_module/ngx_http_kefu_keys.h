/*
 * ngx_kefu: every Redis key of the module, and the ids that name a bucket.
 *
 * Three hash tags (README, "Redis keys"):
 *   kefu:{T:USER}:...   one user's data (sessions, trails, asked lists)
 *   kefu:{T}:...        the tenant's aggregates (day counters, hot
 *                       questions, learned questions, KB dismissals)
 *   kefu:{T#NN}:...     bucket NN of the tenant's users: what the back
 *                       office consumes (loss reports, tickets, feedback)
 *                       with the per-user records written with it
 * NN is ngx_http_kefu_bucket(user), two decimal digits.  '#' and ':'
 * never occur in a tenant name, so the three never share a tag.
 */

#ifndef NGX_HTTP_KEFU_KEYS_H
#define NGX_HTTP_KEFU_KEYS_H

/* included by ngx_http_kefu_module.h, after its types */


/*
 * Buckets per tenant.  16: a bucket is a hash tag of its own, so a
 * tenant's back-office data reaches up to 16 masters, while a read that
 * gathers every bucket stays small (an admin list page: 16 range
 * commands; 90 days of statistics: 90 x 17 day hashes, under the default
 * max_pending of 4096).  Changing it moves users between buckets: it is
 * fixed.
 */
#define NGX_HTTP_KEFU_BUCKETS       16

/* a report's or a ticket's id: the bucket (2 digits) and 32 hex digits */
#define NGX_HTTP_KEFU_ID_LEN        34
/* the id of a report or ticket made before the buckets: 32 hex digits */
#define NGX_HTTP_KEFU_OLD_ID_LEN    32


/* the user's bucket: CRC-32 of the user id, modulo the bucket count */
ngx_uint_t ngx_http_kefu_bucket(ngx_str_t *user);

/* a new id in the bucket (ngx_http_kefu_random_id with the prefix) */
ngx_int_t ngx_http_kefu_bucket_id(ngx_http_request_t *r, ngx_uint_t bucket,
    ngx_str_t *id);
/* the bucket an id names, or NGX_ERROR when it is not such an id */
ngx_int_t ngx_http_kefu_id_bucket(ngx_str_t *id);

/* kefu:{T:USER}:suffix */
ngx_int_t ngx_http_kefu_user_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const char *suffix, ngx_str_t *key);

/* kefu:{T}:suffix */
ngx_int_t ngx_http_kefu_tenant_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const char *suffix, ngx_str_t *key);
/* the same without a request (configuration, worker start) */
ngx_int_t ngx_http_kefu_tenant_key_in(ngx_pool_t *pool, ngx_str_t *tenant,
    const char *suffix, ngx_str_t *key);
/* kefu:{T}:d:YYYYMMDD and suffix (may be ""), the tenant's day */
ngx_int_t ngx_http_kefu_day_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const u_char *day8, const char *suffix,
    ngx_str_t *key);

/* kefu:{T#NN}:suffix */
ngx_int_t ngx_http_kefu_bucket_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_uint_t bucket, const char *suffix,
    ngx_str_t *key);
/* kefu:{T#NN}:d:YYYYMMDD, the bucket's counters of a day */
ngx_int_t ngx_http_kefu_bucket_day_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_uint_t bucket, const u_char *day8,
    ngx_str_t *key);

/*
 * One user's record in the user's bucket: kefu:{T#NN}:what:LEN:user and
 * ":rest" when rest is not NULL.  The length keeps users and rests that
 * contain ':' apart.  _of: another user of the tenant (back office).
 */
ngx_int_t ngx_http_kefu_owner_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const char *what, ngx_str_t *rest,
    ngx_str_t *key);
ngx_int_t ngx_http_kefu_owner_key_of(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const char *what, ngx_str_t *user,
    ngx_str_t *rest, ngx_str_t *key);

/*
 * A report (kefu:{T#NN}:lr:ID) or a ticket (kefu:{T#NN}:tk:ID) by its
 * id, in the bucket the id names: NGX_DECLINED for an id that is not one.
 */
ngx_int_t ngx_http_kefu_lr_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_str_t *id, ngx_str_t *key);
ngx_int_t ngx_http_kefu_ticket_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_str_t *id, ngx_str_t *key);

/* the back office's index of a bucket's reports: kefu:{T#NN}:lr:ix, and
 * :STATUS for one status (status -1: all) */
ngx_int_t ngx_http_kefu_lr_index_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_uint_t bucket, ngx_int_t status,
    ngx_str_t *key);


#endif /* NGX_HTTP_KEFU_KEYS_H */
