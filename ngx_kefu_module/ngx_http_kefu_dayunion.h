/*
 * ngx_kefu: a tenant's per-day sorted sets summed over a period, in a pipeline.
 */

#ifndef NGX_HTTP_KEFU_DAYUNION_H
#define NGX_HTTP_KEFU_DAYUNION_H

#include "ngx_http_kefu_module.h"


/* what one union adds to a pipeline, for a period of `days` days */
#define NGX_HTTP_KEFU_DAYUNION_CMDS        3
/* of those, the one whose reply is the period's top members */
#define NGX_HTTP_KEFU_DAYUNION_TOP         2
/* the reply to the n-th union of a pipeline that starts with `first`
 * other commands */
#define NGX_HTTP_KEFU_DAYUNION_REPLY(first, n)                              \
    ((first) + (n) * NGX_HTTP_KEFU_DAYUNION_CMDS + NGX_HTTP_KEFU_DAYUNION_TOP)
#define NGX_HTTP_KEFU_DAYUNION_ARGS(days)  ((3 + (days)) + 3 + 5)


typedef struct {
    time_t                  now;
    ngx_uint_t              days;       /* the period: days up to now */
    ngx_uint_t              top;        /* members read, highest first */
    ngx_str_t               id;         /* random: names the temporary */
    const char             *what;       /* keys with it, e.g. "stats" */
} ngx_http_kefu_dayunion_t;


/*
 * Adds ZUNIONSTORE tmp <the period's kefu:{t}:d:YYYYMMDD<suffix>, oldest
 * first>, EXPIRE tmp 60 and ZREVRANGE tmp 0 top-1 WITHSCORES to cmds
 * (NGX_HTTP_KEFU_DAYUNION_CMDS) with their arguments in a
 * (NGX_HTTP_KEFU_DAYUNION_ARGS(days)).  tmp, kefu:{t}:tmp:<what>:<id>
 * <suffix>, is in the tenant's slot like the day keys; the caller DELs
 * it at the end of the same pipeline.
 */
ngx_int_t ngx_http_kefu_dayunion(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const ngx_http_kefu_dayunion_t *du,
    const char *suffix, ngx_http_kefu_redis_cmd_t *cmds, ngx_str_t *a,
    ngx_str_t *tmp);

#endif /* NGX_HTTP_KEFU_DAYUNION_H */
