/*
 * ngx_kefu: shared by the service flows (loss reports, handoff, feedback,
 * statistics): their script indexes and a few helpers.
 */

#ifndef NGX_HTTP_KEFU_SERVICE_H
#define NGX_HTTP_KEFU_SERVICE_H

#include "ngx_http_kefu_module.h"


/* indexes into ngx_http_kefu_main_conf_t.scripts */
#define NGX_HTTP_KEFU_SCRIPT_LR_CREATE   0
#define NGX_HTTP_KEFU_SCRIPT_LR_UPDATE   1
#define NGX_HTTP_KEFU_SCRIPT_HANDOFF     2
#define NGX_HTTP_KEFU_SCRIPT_FEEDBACK    3
#define NGX_HTTP_KEFU_SCRIPT_TICKET_CLOSE 4

/* the per-day statistics live as long as /v1/ask keeps them */
#define NGX_HTTP_KEFU_DAY_TTL            "7776000"      /* 90 days */


ngx_int_t ngx_http_kefu_report_scripts(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf);
ngx_int_t ngx_http_kefu_backoffice_scripts(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf);

/* the loss reports' indexes for the back office's list, newest last:
 * status -1 for all; members are "%012T.ID" (ngx_http_kefu_report.c) */
#define NGX_HTTP_KEFU_LR_MEMBER_LEN  (12 + 1 + KEFU_LR_ID_LEN)

ngx_int_t ngx_http_kefu_lr_index_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_int_t status, ngx_str_t *key);
ngx_int_t ngx_http_kefu_lr_index_member(ngx_http_request_t *r,
    time_t created, ngx_str_t *id, ngx_str_t *member);

/*
 * A tenant-slot key of one user's object: "kefu:{tenant}:what:LEN:user"
 * and ":rest" when rest is not NULL.  The length prefix keeps users and
 * rests that contain ':' apart.
 */
ngx_int_t ngx_http_kefu_owner_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const char *what, ngx_str_t *rest,
    ngx_str_t *key);
/* the same for another user of the tenant (the back office's view) */
ngx_int_t ngx_http_kefu_owner_key_of(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const char *what, ngx_str_t *user,
    ngx_str_t *rest, ngx_str_t *key);

/* "kefu:{tenant}:d:YYYYMMDD" plus suffix (may be "") for a day */
ngx_int_t ngx_http_kefu_day_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const u_char *day8, const char *suffix,
    ngx_str_t *key);

/* HGETALL's reply as 2n kefu strings; n is 0 for an empty hash.
 * NGX_ERROR when the reply is not a flat array of strings. */
ngx_int_t ngx_http_kefu_reply_pairs(ngx_http_request_t *r,
    ngx_http_kefu_redis_reply_t *rep, size_t skip, kefu_str_t **kv,
    size_t *n);

ngx_int_t ngx_http_kefu_send_no_content(ngx_http_request_t *r);

/* the 503 of the service flows */

#endif /* NGX_HTTP_KEFU_SERVICE_H */
