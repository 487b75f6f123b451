/*
 * ngx_kefu: the tenants' counters of /v1/ask, summed per worker.
 *
 * Every turn adds to the day's counters, the per-FAQ hits, the
 * unanswered questions and the hot questions of 猜你关心.  Written per
 * turn, that was one more script run per request; instead each worker
 * sums the increments in memory and writes the sums every
 * `kefu_stats_flush` (1 s) as one script per tenant, whose keys share
 * the tenant's Cluster slot.  While Redis is down the sums wait (up to
 * NGX_HTTP_KEFU_TALLY_MAX distinct counters).  A graceful stop writes
 * the last sums; a crashed worker loses at most one interval.
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_scripts.h"
#include "ngx_http_kefu_tally.h"


#define NGX_HTTP_KEFU_TALLY_MAX    1024     /* distinct counters */
#define NGX_HTTP_KEFU_TALLY_SLOTS  2048     /* open addressing, 2^n */
#define NGX_HTTP_KEFU_TALLY_KEYS   16       /* keys of one script run */
#define NGX_HTTP_KEFU_TALLY_TICK   1000     /* ms, at most, between looks */


typedef struct {
    ngx_http_kefu_tenant_t  *tenant;
    ngx_str_t                key;
    ngx_str_t                member;
    double                   incr;
    time_t                   ttl;
    ngx_uint_t               kind;
    uint32_t                 hash;
    unsigned                 sent:1;
} ngx_http_kefu_tally_entry_t;


typedef struct {
    ngx_http_kefu_tally_entry_t  *entries;
    uint16_t                     *slots;        /* entry index + 1 */
    ngx_uint_t                    n;
    ngx_pool_t                   *pool;         /* strings of the entries */
    ngx_pool_t                   *scratch;      /* one write's arguments */
    ngx_msec_t                    refused;      /* last write Redis refused */
    ngx_event_t                   timer;
    ngx_msec_t                    interval;
    ngx_msec_t                    since;        /* the oldest unwritten sum */
    ngx_int_t                     script;
    ngx_log_t                    *log;
} ngx_http_kefu_tally_t;


static char *ngx_http_kefu_tally_init_conf(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf);
static ngx_int_t ngx_http_kefu_tally_init_process(ngx_cycle_t *cycle,
    ngx_http_kefu_main_conf_t *kmcf);
static void ngx_http_kefu_tally_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_kefu_tally_write(void);
static ngx_int_t ngx_http_kefu_tally_write_tenant(ngx_uint_t first);
static ngx_uint_t ngx_http_kefu_tally_key(ngx_http_kefu_tally_entry_t **from,
    ngx_uint_t n, ngx_http_kefu_tally_entry_t *e);
static void ngx_http_kefu_tally_clear(void);
static void ngx_http_kefu_tally_timer(ngx_event_t *ev);


/* the worker's sums */
static ngx_http_kefu_tally_t  ngx_http_kefu_tally_sums;


/* kmcf->tally_script */
static const ngx_http_kefu_lua_t  *const ngx_http_kefu_tally_scripts[] = {
    &ngx_http_kefu_script_tally,
    NULL
};


const ngx_http_kefu_endpoint_t  ngx_http_kefu_tally_endpoint = {
    NULL,
    ngx_http_kefu_tally_scripts,
    offsetof(ngx_http_kefu_main_conf_t, tally_script),
    ngx_http_kefu_tally_init_conf,
    ngx_http_kefu_tally_init_process,
    ngx_http_kefu_tally_exit_process
};


static char *
ngx_http_kefu_tally_init_conf(ngx_conf_t *cf, ngx_http_kefu_main_conf_t *kmcf)
{
    ngx_conf_init_msec_value(kmcf->stats_flush, 1000);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_kefu_tally_init_process(ngx_cycle_t *cycle,
    ngx_http_kefu_main_conf_t *kmcf)
{
    ngx_http_kefu_tally_t  *ty;

    ty = &ngx_http_kefu_tally_sums;

    ngx_memzero(ty, sizeof(ngx_http_kefu_tally_t));

    /* without Redis there is nowhere to write the sums to */
    if (!ngx_http_kefu_redis_configured()) {
        return NGX_OK;
    }

    ty->entries = ngx_alloc(NGX_HTTP_KEFU_TALLY_MAX
                            * sizeof(ngx_http_kefu_tally_entry_t),
                            cycle->log);
    ty->slots = ngx_calloc(NGX_HTTP_KEFU_TALLY_SLOTS * sizeof(uint16_t),
                           cycle->log);
    ty->pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, cycle->log);
    ty->scratch = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, cycle->log);

    if (ty->entries == NULL || ty->slots == NULL || ty->pool == NULL
        || ty->scratch == NULL)
    {
        return NGX_ERROR;
    }

    ty->interval = kmcf->stats_flush;
    ty->script = kmcf->tally_script;
    ty->log = cycle->log;

    /* not cancelable, and armed only while there are sums: a graceful
     * stop waits for their last write, and looks at least every tick so
     * that a long interval does not hold the stop up */
    ty->timer.handler = ngx_http_kefu_tally_timer;
    ty->timer.log = cycle->log;
    ty->timer.data = ty;

    return NGX_OK;
}


static void
ngx_http_kefu_tally_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_kefu_tally_t  *ty;

    ty = &ngx_http_kefu_tally_sums;

    if (ty->entries == NULL) {
        return;
    }

    if (ty->n) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "kefu: %ui counters not written at exit", ty->n);
    }

    if (ty->timer.timer_set) {
        ngx_del_timer(&ty->timer);
    }

    ngx_free(ty->entries);
    ngx_free(ty->slots);
    ngx_destroy_pool(ty->pool);
    ngx_destroy_pool(ty->scratch);

    ty->entries = NULL;
}


/*
 * Adds incr to a hash field (NGX_HTTP_KEFU_TALLY_COUNT) or a sorted set
 * member (_RANK: TTL set once; _HOT: TTL refreshed) of one of t's keys.
 * NGX_DECLINED: no Redis configured, or the sums are full.
 */
ngx_int_t
ngx_http_kefu_tally_add(ngx_http_kefu_tenant_t *t, ngx_uint_t kind,
    ngx_str_t *key, ngx_str_t *member, double incr, time_t ttl)
{
    uint32_t                      h;
    ngx_uint_t                    i;
    ngx_http_kefu_tally_t        *ty;
    ngx_http_kefu_tally_entry_t  *e;

    ty = &ngx_http_kefu_tally_sums;

    if (ty->entries == NULL) {
        return NGX_DECLINED;
    }

    h = ngx_murmur_hash2(key->data, key->len) * 31
        + ngx_murmur_hash2(member->data, member->len) + kind;

    for (i = h & (NGX_HTTP_KEFU_TALLY_SLOTS - 1);
         ty->slots[i];
         i = (i + 1) & (NGX_HTTP_KEFU_TALLY_SLOTS - 1))
    {
        e = &ty->entries[ty->slots[i] - 1];

        if (e->hash == h && e->tenant == t && e->kind == kind
            && e->key.len == key->len && e->member.len == member->len
            && ngx_memcmp(e->key.data, key->data, key->len) == 0
            && ngx_memcmp(e->member.data, member->data, member->len) == 0)
        {
            e->incr += incr;
            return NGX_OK;
        }
    }

    if (ty->n == NGX_HTTP_KEFU_TALLY_MAX) {
        /* full: write now; while Redis is down, what is new is lost.
         * Redis refused the last try: not again before the next tick,
         * so that a full table costs a request nothing */
        if ((ty->refused
             && ngx_current_msec - ty->refused < NGX_HTTP_KEFU_TALLY_TICK)
            || ngx_http_kefu_tally_write() == NGX_DECLINED)
        {
            ngx_http_kefu_worker_stats()->counters_dropped++;
            return NGX_DECLINED;
        }

        /* the table is empty again: the probe starts over */
        for (i = h & (NGX_HTTP_KEFU_TALLY_SLOTS - 1);
             ty->slots[i];
             i = (i + 1) & (NGX_HTTP_KEFU_TALLY_SLOTS - 1))
        {
            /* void */
        }
    }

    e = &ty->entries[ty->n];

    e->key.data = ngx_pstrdup(ty->pool, key);
    e->member.data = member->len ? ngx_pstrdup(ty->pool, member)
                                 : (u_char *) "";
    if (e->key.data == NULL || e->member.data == NULL) {
        ngx_http_kefu_worker_stats()->counters_dropped++;
        return NGX_DECLINED;
    }

    e->tenant = t;
    e->key.len = key->len;
    e->member.len = member->len;
    e->incr = incr;
    e->ttl = ttl;
    e->kind = kind;
    e->hash = h;
    e->sent = 0;

    ty->slots[i] = (uint16_t) ++ty->n;

    if (!ty->timer.timer_set) {
        ty->since = ngx_current_msec;
        ngx_add_timer(&ty->timer,
                      ngx_min(ty->interval, NGX_HTTP_KEFU_TALLY_TICK));
    }

    return NGX_OK;
}


static void
ngx_http_kefu_tally_timer(ngx_event_t *ev)
{
    ngx_int_t               rc;
    ngx_msec_t              age;
    ngx_http_kefu_tally_t  *ty = ev->data;

    age = ngx_current_msec - ty->since;

    if (age < ty->interval && !ngx_exiting) {
        ngx_add_timer(ev, ngx_min(ty->interval - age,
                                  NGX_HTTP_KEFU_TALLY_TICK));
        return;
    }

    rc = ngx_http_kefu_tally_write();

    if (rc != NGX_DECLINED) {
        return;
    }

    if (!ngx_exiting) {
        /* Redis is down: the sums wait for it */
        ngx_add_timer(ev, ngx_min(ty->interval, NGX_HTTP_KEFU_TALLY_TICK));
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "kefu: %ui counters not written, Redis is down", ty->n);
    ngx_http_kefu_tally_clear();
}


/*
 * Writes every sum, one script per tenant and up to TALLY_KEYS keys.
 * NGX_DECLINED: Redis is down and nothing was sent, the sums stay;
 * NGX_ERROR: some were sent, the rest are lost.
 */
static ngx_int_t
ngx_http_kefu_tally_write(void)
{
    ngx_int_t               rc;
    ngx_uint_t              i, sent;
    ngx_http_kefu_tally_t  *ty;

    ty = &ngx_http_kefu_tally_sums;

    if (ty->n == 0) {
        return NGX_OK;
    }

    if (!ngx_http_kefu_redis_connected()) {
        ty->refused = ngx_current_msec;
        return NGX_DECLINED;
    }

    sent = 0;
    rc = NGX_OK;

    for (i = 0; i < ty->n; i++) {
        if (ty->entries[i].sent) {
            continue;
        }

        /* each run's arguments are copied by the adapter: the scratch
         * pool never outlives the write, whatever Redis said */
        rc = ngx_http_kefu_tally_write_tenant(i);
        ngx_reset_pool(ty->scratch);

        if (rc != NGX_OK) {
            break;
        }

        sent++;
    }

    if (rc == NGX_DECLINED && sent == 0) {
        ty->refused = ngx_current_msec;
        return NGX_DECLINED;
    }

    ty->refused = 0;
    ngx_http_kefu_tally_clear();

    return rc == NGX_OK ? NGX_OK : NGX_ERROR;
}


/* one script run: the sums of entry first's tenant, on its first keys */
static ngx_int_t
ngx_http_kefu_tally_write_tenant(ngx_uint_t first)
{
    u_char                       *p;
    ngx_int_t                     rc;
    ngx_str_t                    *argv, *sums, *a;
    ngx_uint_t                    i, k, nkeys, nsums;
    ngx_http_kefu_tally_t        *ty;
    ngx_http_kefu_tenant_t       *t;
    ngx_http_kefu_tally_entry_t  *e, *from[NGX_HTTP_KEFU_TALLY_KEYS];

    ty = &ngx_http_kefu_tally_sums;
    t = ty->entries[first].tenant;

    sums = ngx_palloc(ty->scratch, 4 * (ty->n - first) * sizeof(ngx_str_t));
    p = ngx_pnalloc(ty->scratch, (NGX_HTTP_KEFU_TALLY_KEYS + ty->n - first)
                                 * 3 * (NGX_INT64_LEN + 8));
    if (sums == NULL || p == NULL) {
        return NGX_ERROR;
    }

    nkeys = 0;
    nsums = 0;

    for (i = first; i < ty->n; i++) {
        e = &ty->entries[i];

        if (e->sent || e->tenant != t) {
            continue;
        }

        k = ngx_http_kefu_tally_key(from, nkeys, e);

        if (k == nkeys) {
            if (nkeys == NGX_HTTP_KEFU_TALLY_KEYS) {
                continue;               /* for the next run */
            }

            from[nkeys++] = e;
        }

        a = &sums[4 * nsums++];

        a[0].data = p;
        p = ngx_sprintf(p, "%ui", k + 1);
        a[0].len = p - a[0].data;

        a[2] = e->member;
        a[3].data = p;

        if (e->kind == NGX_HTTP_KEFU_TALLY_COUNT) {
            ngx_str_set(&a[1], "h");
            p = ngx_sprintf(p, "%L", (int64_t) e->incr);

        } else {
            ngx_str_set(&a[1], "z");
            p = ngx_sprintf(p, "%.6f", e->incr);
        }

        a[3].len = p - a[3].data;
    }

    /* KEYS, then each key's TTL, mode and cap, then the sums */
    argv = ngx_palloc(ty->scratch, (4 * nkeys + 4 * nsums) * sizeof(ngx_str_t));
    if (argv == NULL) {
        return NGX_ERROR;
    }

    for (k = 0; k < nkeys; k++) {
        argv[k] = from[k]->key;

        a = &argv[nkeys + 3 * k];
        a[0].data = p;
        p = ngx_sprintf(p, "%T", from[k]->ttl);
        a[0].len = p - a[0].data;

        if (from[k]->kind == NGX_HTTP_KEFU_TALLY_HOT) {
            ngx_str_set(&a[1], "r");

        } else {
            ngx_str_set(&a[1], "o");
        }

        a[2].data = p;
        p = ngx_sprintf(p, "%ui", from[k]->kind == NGX_HTTP_KEFU_TALLY_RANK
                                  ? t->stats_top_max : 0);
        a[2].len = p - a[2].data;
    }

    ngx_memcpy(&argv[4 * nkeys], sums, 4 * nsums * sizeof(ngx_str_t));

    rc = ngx_http_kefu_redis_eval_detached(ty->script, nkeys,
                                           4 * nkeys + 4 * nsums, argv);
    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, ty->log, 0,
                      "kefu: counters of tenant \"%V\" not written",
                      &t->name);
        return rc;
    }

    ngx_http_kefu_worker_stats()->counter_writes++;

    for (i = first; i < ty->n; i++) {
        e = &ty->entries[i];

        if (!e->sent && e->tenant == t
            && ngx_http_kefu_tally_key(from, nkeys, e) < nkeys)
        {
            e->sent = 1;
        }
    }

    return NGX_OK;
}


/* the index of e's key among the keys brought by from[], or n */
static ngx_uint_t
ngx_http_kefu_tally_key(ngx_http_kefu_tally_entry_t **from, ngx_uint_t n,
    ngx_http_kefu_tally_entry_t *e)
{
    ngx_uint_t  k;

    for (k = 0; k < n; k++) {
        if (from[k]->key.len == e->key.len
            && ngx_memcmp(from[k]->key.data, e->key.data, e->key.len) == 0)
        {
            break;
        }
    }

    return k;
}


static void
ngx_http_kefu_tally_clear(void)
{
    ngx_uint_t              i;
    ngx_http_kefu_tally_t  *ty;

    ty = &ngx_http_kefu_tally_sums;

    for (i = 0; i < ty->n; i++) {
        if (!ty->entries[i].sent) {
            ngx_http_kefu_worker_stats()->counters_dropped++;
        }
    }

    ngx_memzero(ty->slots, NGX_HTTP_KEFU_TALLY_SLOTS * sizeof(uint16_t));
    ngx_reset_pool(ty->pool);
    ty->n = 0;
}
