/*
 * ngx_kefu: the worker's copies of the sessions /v1/ask wrote
 * (ngx_http_kefu_sessions.c).
 */

#ifndef NGX_HTTP_KEFU_SESSIONS_H
#define NGX_HTTP_KEFU_SESSIONS_H

#include "ngx_http_kefu_module.h"


ngx_int_t ngx_http_kefu_sessions_get(ngx_pool_t *pool, ngx_str_t *key,
    ngx_str_t *value);
void ngx_http_kefu_sessions_put(ngx_str_t *key, ngx_str_t *value);
void ngx_http_kefu_sessions_drop(ngx_str_t *key);

#endif /* NGX_HTTP_KEFU_SESSIONS_H */
