/*
 * ngx_kefu: the back office (ngx_http_kefu_backoffice.c): what the
 * handoff shares with it, a ticket's place in the tenant's queue.
 */

#ifndef NGX_HTTP_KEFU_BACKOFFICE_H
#define NGX_HTTP_KEFU_BACKOFFICE_H

#include "ngx_http_kefu_module.h"


/*
 * The agents' queue is one sorted set per bucket; a ticket's place is 1 +
 * the tickets before it in all of them: _place sends the
 * NGX_HTTP_KEFU_BUCKETS ZCOUNTs of the scores below score (the handler
 * gets their replies, as ngx_http_kefu_redis_started returns), _sum adds
 * up the replies.
 */
ngx_int_t ngx_http_kefu_queue_place(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, int64_t score,
    ngx_http_kefu_redis_handler_pt handler, void *data);
ngx_int_t ngx_http_kefu_queue_sum(ngx_http_kefu_redis_reply_t **replies,
    ngx_uint_t n, int64_t *sum);

#endif /* NGX_HTTP_KEFU_BACKOFFICE_H */
