/*
 * ngx_kefu: a tenant's per-day sorted sets summed over a period, in a pipeline.
 *
 * /v1/admin/stats (top and unanswered questions) and
 * /v1/admin/kb/suggestions (tapped, unanswered and clarified questions)
 * read a period's days this way, in one round trip.
 */

#include "ngx_http_kefu_dayunion.h"
#include "ngx_http_kefu_handler.h"
#include "kefu_stats.h"


ngx_int_t
ngx_http_kefu_dayunion(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    const ngx_http_kefu_dayunion_t *du, const char *suffix,
    ngx_http_kefu_redis_cmd_t *cmds, ngx_str_t *a, ngx_str_t *tmp)
{
    char        day[16];
    u_char      buf[64];
    ngx_uint_t  d, k;

    if (ngx_strlen(du->what) + du->id.len + ngx_strlen(suffix)
        > sizeof(buf) - sizeof("tmp::"))
    {
        return NGX_ERROR;
    }

    (void) ngx_sprintf(buf, "tmp:%s:%V%s%Z", du->what, &du->id, suffix);

    if (ngx_http_kefu_tenant_key(r, ctx, (char *) buf, tmp) != NGX_OK) {
        return NGX_ERROR;
    }

    a[2].data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (a[2].data == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&a[0], "ZUNIONSTORE");
    a[1] = *tmp;
    a[2].len = ngx_sprintf(a[2].data, "%ui", du->days) - a[2].data;
    cmds[0].argc = 3 + du->days;
    cmds[0].argv = a;
    k = 3;

    for (d = 0; d < du->days; d++) {
        kefu_stats_day(du->now, (int) (du->days - 1 - d), day);

        if (ngx_http_kefu_day_key(r, ctx, (u_char *) day, suffix, &a[k++])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    /* should the connection die before the DEL, nothing stays long */
    ngx_str_set(&a[k], "EXPIRE");
    a[k + 1] = *tmp;
    ngx_str_set(&a[k + 2], "60");
    cmds[1].argc = 3;
    cmds[1].argv = &a[k];
    k += 3;

    a[k + 3].data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (a[k + 3].data == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&a[k], "ZREVRANGE");
    a[k + 1] = *tmp;
    ngx_str_set(&a[k + 2], "0");
    a[k + 3].len = ngx_sprintf(a[k + 3].data, "%ui", du->top - 1)
                   - a[k + 3].data;
    ngx_str_set(&a[k + 4], "WITHSCORES");
    cmds[2].argc = 5;
    cmds[2].argv = &a[k];

    return NGX_OK;
}
