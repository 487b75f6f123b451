/*
 * ngx_kefu: the request pipeline (ngx_http_kefu_handler.c) and what
 * every endpoint shares: JSON answers and the JSON error contract, the
 * outcome of its Redis work, Redis keys, query and number helpers.
 */

#ifndef NGX_HTTP_KEFU_HANDLER_H
#define NGX_HTTP_KEFU_HANDLER_H

#include "ngx_http_kefu_module.h"


/* the content handler of a kefu_api location: routes to the endpoints of
 * ngx_http_kefu_endpoints[] */
ngx_int_t ngx_http_kefu_handler(ngx_http_request_t *r);

/* answers */
ngx_int_t ngx_http_kefu_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message);
ngx_int_t ngx_http_kefu_send_json(ngx_http_request_t *r, ngx_uint_t status,
    kefu_buf_t *body);
ngx_int_t ngx_http_kefu_send_no_content(ngx_http_request_t *r);
ngx_int_t ngx_http_kefu_add_header(ngx_http_request_t *r, const char *key,
    const char *value);
void ngx_http_kefu_add_actions(kefu_buf_t *b, unsigned actions);

/* the outcome of an endpoint's Redis work */
ngx_int_t ngx_http_kefu_unavailable(ngx_http_request_t *r);
ngx_int_t ngx_http_kefu_redis_started(ngx_http_request_t *r, ngx_int_t rc);
ngx_int_t ngx_http_kefu_redis_outcome(ngx_http_request_t *r, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n, ngx_uint_t expect,
    const char *what, ngx_str_t *key);
ngx_int_t ngx_http_kefu_redis_unexpected(ngx_http_request_t *r,
    ngx_http_kefu_redis_reply_t *rep, const char *what, ngx_str_t *key);
void ngx_http_kefu_redis_log_reply(ngx_http_request_t *r,
    ngx_http_kefu_redis_reply_t *rep, const char *what, ngx_str_t *key);
/* HGETALL's reply as 2n kefu strings; n is 0 for an empty hash.
 * NGX_ERROR when the reply is not a flat array of strings. */
ngx_int_t ngx_http_kefu_reply_pairs(ngx_http_request_t *r,
    ngx_http_kefu_redis_reply_t *rep, size_t skip, kefu_str_t **kv,
    size_t *n);

/* a day's key suffix "d:YYYYMMDD", and a question's 64-bit hash in hex
 * (the key builders are in ngx_http_kefu_keys.h) */
void ngx_http_kefu_day(time_t now, u_char *buf);
void ngx_http_kefu_question_hash(ngx_str_t *q, u_char *hex16);

/* the per-day statistics live as long as /v1/ask keeps them */
#define NGX_HTTP_KEFU_DAY_TTL  "7776000"        /* 90 days */

/* values */
ngx_int_t ngx_http_kefu_query_uint(ngx_http_request_t *r, const char *name,
    ngx_uint_t def, ngx_uint_t max, ngx_uint_t *out);
ngx_int_t ngx_http_kefu_random_id(ngx_http_request_t *r, size_t n,
    ngx_str_t *id);
/* v in decimal, in r's pool: a script's argument */
ngx_int_t ngx_http_kefu_num(ngx_http_request_t *r, int64_t v, ngx_str_t *s);

#endif /* NGX_HTTP_KEFU_HANDLER_H */
