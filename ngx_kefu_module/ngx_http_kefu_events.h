/*
 * ngx_kefu: POST /v1/events (ngx_http_kefu_events.c): what
 * GET /v1/suggestions needs to read the trail summary it writes.
 */

#ifndef NGX_HTTP_KEFU_EVENTS_H
#define NGX_HTTP_KEFU_EVENTS_H

#include "ngx_http_kefu_module.h"


/* how many per-type sums the summary records of rep hold */
size_t ngx_http_kefu_sum_entries(ngx_http_kefu_redis_reply_t *rep);

#endif /* NGX_HTTP_KEFU_EVENTS_H */
