/*
 * ngx_kefu: the tenants' counters, summed per worker
 * (ngx_http_kefu_tally.c).
 */

#ifndef NGX_HTTP_KEFU_TALLY_H
#define NGX_HTTP_KEFU_TALLY_H

#include "ngx_http_kefu_module.h"


#define NGX_HTTP_KEFU_TALLY_COUNT  0    /* hash field, TTL set once */
#define NGX_HTTP_KEFU_TALLY_RANK   1    /* sorted set, TTL set once */
#define NGX_HTTP_KEFU_TALLY_HOT    2    /* sorted set, TTL refreshed */

/* the per-day statistics the sums write: 90 days */
#define NGX_HTTP_KEFU_STATS_TTL    7776000

ngx_int_t ngx_http_kefu_tally_add(ngx_http_kefu_tenant_t *t, ngx_uint_t kind,
    ngx_str_t *key, ngx_str_t *member, double incr, time_t ttl);

#endif /* NGX_HTTP_KEFU_TALLY_H */
