/*
 * ngx_kefu: GET /v1/suggestions (ngx_http_kefu_suggest.c): the hot
 * counter /v1/ask writes for it.
 */

#ifndef NGX_HTTP_KEFU_SUGGEST_H
#define NGX_HTTP_KEFU_SUGGEST_H

#include "ngx_http_kefu_module.h"


/* the hot counter of the current generation: its key, increment and TTL */
ngx_int_t ngx_http_kefu_suggest_hot_incr(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, time_t now, ngx_str_t *key, double *incr,
    time_t *ttl);

#endif /* NGX_HTTP_KEFU_SUGGEST_H */
