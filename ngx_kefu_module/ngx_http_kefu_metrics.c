/*
 * ngx_kefu: Prometheus metrics (`kefu_metrics` location) and the
 * $kefu_* variables for access logs.
 *
 * Counters live in one shared memory zone so that every worker adds to the
 * same numbers; the zone survives `nginx -s reload` when its size is
 * unchanged, and tenants and endpoints are found in it by name, so a
 * reload that adds, removes or reorders tenants keeps every count.
 *
 * Request counts and latencies are recorded in the log phase for every
 * request that went through kefu_api.  Redis counters stay per worker in
 * the adapter; each worker adds what grew since its last look to shared
 * totals (after each request, once a second, and when it exits) and keeps
 * its connection state in a slot of its own.
 */

#include "ngx_http_kefu_metrics.h"
#include "kefu_memo.h"


#define NGX_HTTP_KEFU_METRICS_MAGIC      0x6b6d7432   /* layout version */
#define NGX_HTTP_KEFU_METRICS_ENDPOINTS  48
#define NGX_HTTP_KEFU_METRICS_TENANTS    4096
#define NGX_HTTP_KEFU_METRICS_WORKERS    128
#define NGX_HTTP_KEFU_METRICS_NAME       64
/* Redis Cluster nodes with redirect counters */
#define NGX_HTTP_KEFU_METRICS_NODES      64
#define NGX_HTTP_KEFU_METRICS_REPLIES    4            /* KEFU_REPLY_* */
#define NGX_HTTP_KEFU_METRICS_NONE       ((ngx_uint_t) -1)
#define NGX_HTTP_KEFU_METRICS_STALE      30           /* seconds */
#define NGX_HTTP_KEFU_METRICS_DEFAULT_SIZE  (1024 * 1024)


/* status codes counted one by one; others count per class ("4xx") */
static ngx_uint_t  ngx_http_kefu_metrics_codes[] = {
    200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429,
    499, 500, 502, 503, 504
};

#define NGX_HTTP_KEFU_METRICS_NCODES                                         \
    (sizeof(ngx_http_kefu_metrics_codes) / sizeof(ngx_uint_t))

/* + one slot per class 1xx..5xx and one for "no status" */
#define NGX_HTTP_KEFU_METRICS_CODE_SLOTS  (NGX_HTTP_KEFU_METRICS_NCODES + 6)


/* latency bucket upper bounds, microseconds (the clock ticks in ms) */
static ngx_msec_t  ngx_http_kefu_metrics_buckets[] = {
    500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 1000000
};

static const char  *ngx_http_kefu_metrics_le[] = {
    "0.0005", "0.001", "0.002", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25", "1"
};

#define NGX_HTTP_KEFU_METRICS_NBUCKETS                                       \
    (sizeof(ngx_http_kefu_metrics_buckets) / sizeof(ngx_msec_t))


static const char  *ngx_http_kefu_metrics_replies[] = {
    "answer", "clarify", "fallback", "handoff"
};


typedef struct {
    ngx_atomic_t        used;
    u_char              name[NGX_HTTP_KEFU_METRICS_NAME];
    size_t              len;
    ngx_atomic_t        codes[NGX_HTTP_KEFU_METRICS_CODE_SLOTS];
    ngx_atomic_t        buckets[NGX_HTTP_KEFU_METRICS_NBUCKETS];
    ngx_atomic_t        count;
    ngx_atomic_t        sum_ms;
} ngx_http_kefu_metrics_endpoint_t;


typedef struct {
    ngx_atomic_t        used;
    u_char              name[NGX_HTTP_KEFU_METRICS_NAME];
    size_t              len;
    ngx_atomic_t        replies[NGX_HTTP_KEFU_METRICS_REPLIES];
} ngx_http_kefu_metrics_tenant_t;


typedef struct {
    ngx_atomic_t        pid;            /* 0: free */
    ngx_atomic_t        worker;         /* ngx_worker */
    ngx_atomic_t        updated;        /* ngx_time() of the last update */
    ngx_atomic_t        configured;
    ngx_atomic_t        connected;
    ngx_atomic_t        pending;
    ngx_atomic_t        cluster;        /* kefu_redis_cluster */
    ngx_atomic_t        masters;        /* in its slot map */
    ngx_atomic_t        up;             /* node connections ready */
} ngx_http_kefu_metrics_worker_t;


/* a Redis Cluster node's redirects, all workers */
typedef struct {
    ngx_atomic_t        used;
    u_char              name[NGX_HTTP_KEFU_METRICS_NAME];
    size_t              len;
    ngx_atomic_t        moved;
    ngx_atomic_t        ask;
} ngx_http_kefu_metrics_node_t;


/* Redis totals of all workers, past and present */
typedef struct {
    ngx_atomic_t        commands;
    ngx_atomic_t        errors;
    ngx_atomic_t        timeouts;
    ngx_atomic_t        reconnects;
    ngx_atomic_t        rejected;
    ngx_atomic_t        refreshes;
} ngx_http_kefu_metrics_redis_t;


/* the workers' memo, session copies and counter sums, all of them */
typedef struct {
    ngx_atomic_t        memo_lookups;
    ngx_atomic_t        memo_hits;
    ngx_atomic_t        session_copies;
    ngx_atomic_t        session_refused;
    ngx_atomic_t        counter_writes;
    ngx_atomic_t        counters_dropped;
} ngx_http_kefu_metrics_workers_t;


typedef struct {
    ngx_uint_t                          magic;
    size_t                              size;
    ngx_atomic_t                        reloads;    /* zone reuses */
    ngx_http_kefu_metrics_redis_t       redis;
    ngx_http_kefu_metrics_workers_t     workers;
    ngx_http_kefu_metrics_endpoint_t    ep[NGX_HTTP_KEFU_METRICS_ENDPOINTS];
    ngx_http_kefu_metrics_worker_t      wk[NGX_HTTP_KEFU_METRICS_WORKERS];
    ngx_http_kefu_metrics_tenant_t      tn[NGX_HTTP_KEFU_METRICS_TENANTS];
    ngx_http_kefu_metrics_node_t        nd[NGX_HTTP_KEFU_METRICS_NODES];
} ngx_http_kefu_metrics_sh_t;


typedef struct {
    ngx_http_kefu_route_t      *route;
    ngx_uint_t                  slot;
} ngx_http_kefu_metrics_cache_t;


/* kmcf->metrics: one per configuration cycle */
typedef struct {
    ngx_flag_t                      used;       /* a kefu_metrics location */
    size_t                          size;       /* kefu_metrics_zone */
    ngx_shm_zone_t                 *zone;
    ngx_slab_pool_t                *shpool;
    ngx_http_kefu_metrics_sh_t     *sh;
    ngx_http_kefu_main_conf_t      *kmcf;
    ngx_uint_t                     *tenant_slot;   /* by tenant index */

    /* below: each worker's own copy, written only by that worker */
    ngx_uint_t                      worker_slot;
    ngx_http_kefu_redis_stats_t     published;  /* Redis counters added */
    ngx_http_kefu_worker_stats_t    published_ws;   /* and the others */
    ngx_uint_t                      node_slot[NGX_HTTP_KEFU_METRICS_NODES];
    ngx_uint_t                      node_moved[NGX_HTTP_KEFU_METRICS_NODES];
    ngx_uint_t                      node_ask[NGX_HTTP_KEFU_METRICS_NODES];
    ngx_event_t                     timer;
    ngx_uint_t                      ncache;
    ngx_http_kefu_metrics_cache_t   cache[NGX_HTTP_KEFU_METRICS_ENDPOINTS];
} ngx_http_kefu_metrics_conf_t;


static ngx_http_kefu_metrics_conf_t *ngx_http_kefu_metrics_conf(
    ngx_conf_t *cf);
static ngx_int_t ngx_http_kefu_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_uint_t ngx_http_kefu_metrics_find(ngx_http_kefu_metrics_conf_t *mcf,
    u_char *name, size_t len, ngx_atomic_t *used, size_t stride,
    ngx_uint_t n);
static ngx_int_t ngx_http_kefu_metrics_log(ngx_http_request_t *r);
static ngx_uint_t ngx_http_kefu_metrics_endpoint(
    ngx_http_kefu_metrics_conf_t *mcf, ngx_http_kefu_route_t *route);
static void ngx_http_kefu_metrics_publish(ngx_http_kefu_metrics_conf_t *mcf);
static void ngx_http_kefu_metrics_publish_nodes(
    ngx_http_kefu_metrics_conf_t *mcf);
static void ngx_http_kefu_metrics_cluster(kefu_buf_t *mb,
    ngx_http_kefu_metrics_sh_t *sh, time_t now);
static void ngx_http_kefu_metrics_tick(ngx_event_t *ev);
static ngx_int_t ngx_http_kefu_metrics_handler(ngx_http_request_t *r);
static void ngx_http_kefu_metrics_route_name(ngx_http_kefu_route_t *route,
    u_char *buf, size_t *len);
static void ngx_http_kefu_metrics_label(kefu_buf_t *b, u_char *s, size_t len);
static ngx_int_t ngx_http_kefu_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_kefu_metrics_zone_name =
    ngx_string("kefu_metrics");


/* --- configuration ---------------------------------------------------- */

static ngx_http_kefu_metrics_conf_t *
ngx_http_kefu_metrics_conf(ngx_conf_t *cf)
{
    ngx_http_kefu_main_conf_t     *kmcf;
    ngx_http_kefu_metrics_conf_t  *mcf;

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_kefu_module);

    if (kmcf->metrics != NULL) {
        return kmcf->metrics;
    }

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_kefu_metrics_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    mcf->size = NGX_CONF_UNSET_SIZE;
    mcf->kmcf = kmcf;
    mcf->worker_slot = NGX_HTTP_KEFU_METRICS_NONE;
    kmcf->metrics = mcf;

    return mcf;
}


char *
ngx_http_kefu_metrics_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_kefu_metrics_conf_t  *mcf;

    mcf = ngx_http_kefu_metrics_conf(cf);
    if (mcf == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->used = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_kefu_metrics_handler;

    return NGX_CONF_OK;
}


char *
ngx_http_kefu_metrics_zone_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ssize_t                        size;
    ngx_str_t                     *value;
    ngx_http_kefu_metrics_conf_t  *mcf;

    mcf = ngx_http_kefu_metrics_conf(cf);
    if (mcf == NULL) {
        return NGX_CONF_ERROR;
    }

    if (mcf->size != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[1]);
    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid size \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if ((size_t) size < sizeof(ngx_http_kefu_metrics_sh_t)
                        + 8 * ngx_pagesize)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_metrics_zone \"%V\" is too small, "
                           "at least %uzk", &value[1],
                           (sizeof(ngx_http_kefu_metrics_sh_t)
                            + 8 * ngx_pagesize) / 1024 + 1);
        return NGX_CONF_ERROR;
    }

    mcf->size = size;

    return NGX_CONF_OK;
}


/* preconfiguration: the $kefu_* variables */

typedef enum {
    NGX_HTTP_KEFU_VAR_TENANT = 0,
    NGX_HTTP_KEFU_VAR_USER,
    NGX_HTTP_KEFU_VAR_ROUTE,
    NGX_HTTP_KEFU_VAR_FAQ_ID,
    NGX_HTTP_KEFU_VAR_CONFIDENCE,
    NGX_HTTP_KEFU_VAR_REPLY
} ngx_http_kefu_var_e;


static ngx_http_variable_t  ngx_http_kefu_vars[] = {
    { ngx_string("kefu_tenant"), NULL, ngx_http_kefu_variable,
      NGX_HTTP_KEFU_VAR_TENANT, NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("kefu_user"), NULL, ngx_http_kefu_variable,
      NGX_HTTP_KEFU_VAR_USER, NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("kefu_route"), NULL, ngx_http_kefu_variable,
      NGX_HTTP_KEFU_VAR_ROUTE, NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("kefu_faq_id"), NULL, ngx_http_kefu_variable,
      NGX_HTTP_KEFU_VAR_FAQ_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("kefu_confidence"), NULL, ngx_http_kefu_variable,
      NGX_HTTP_KEFU_VAR_CONFIDENCE, NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("kefu_reply"), NULL, ngx_http_kefu_variable,
      NGX_HTTP_KEFU_VAR_REPLY, NGX_HTTP_VAR_NOCACHEABLE, 0 },
    ngx_http_null_variable
};


ngx_int_t
ngx_http_kefu_metrics_preconfiguration(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_kefu_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/*
 * postconfiguration: the zone and the log-phase handler, only when some
 * location serves kefu_metrics (or a zone size was given).
 */

ngx_int_t
ngx_http_kefu_metrics_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                     i;
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_kefu_main_conf_t     *kmcf;
    ngx_http_kefu_metrics_conf_t  *mcf;

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_kefu_module);
    mcf = kmcf->metrics;

    if (mcf == NULL) {
        return NGX_OK;
    }

    if (mcf->size == NGX_CONF_UNSET_SIZE) {
        mcf->size = ngx_max(NGX_HTTP_KEFU_METRICS_DEFAULT_SIZE,
                            sizeof(ngx_http_kefu_metrics_sh_t)
                            + 8 * ngx_pagesize);
    }

    mcf->tenant_slot = ngx_palloc(cf->pool, sizeof(ngx_uint_t)
                                  * ngx_max(kmcf->tenants.nelts, 1));
    if (mcf->tenant_slot == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < kmcf->tenants.nelts; i++) {
        mcf->tenant_slot[i] = NGX_HTTP_KEFU_METRICS_NONE;
    }

    mcf->zone = ngx_shared_memory_add(cf, &ngx_http_kefu_metrics_zone_name,
                                      mcf->size, &ngx_http_kefu_module);
    if (mcf->zone == NULL) {
        return NGX_ERROR;
    }

    mcf->zone->init = ngx_http_kefu_metrics_init_zone;
    mcf->zone->data = mcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_kefu_metrics_log;

    return NGX_OK;
}


/*
 * Runs in the master for every configuration cycle.  A reused zone keeps
 * its counters when its layout is ours; tenants get their slots by name.
 */

static ngx_int_t
ngx_http_kefu_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_uint_t                     i, slot;
    ngx_slab_pool_t               *shpool;
    ngx_http_kefu_tenant_t        *t;
    ngx_http_kefu_metrics_sh_t    *sh;
    ngx_http_kefu_metrics_conf_t  *mcf;

    mcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    mcf->shpool = shpool;

    sh = shpool->data;

    if ((data == NULL && !shm_zone->shm.exists)
        || sh == NULL
        || sh->magic != NGX_HTTP_KEFU_METRICS_MAGIC
        || sh->size != sizeof(ngx_http_kefu_metrics_sh_t))
    {
        ngx_shmtx_lock(&shpool->mutex);

        if (sh != NULL && data != NULL) {
            /* another layout (a module upgrade): start afresh */
            ngx_slab_free_locked(shpool, sh);
        }

        sh = ngx_slab_calloc_locked(shpool,
                                    sizeof(ngx_http_kefu_metrics_sh_t));
        ngx_shmtx_unlock(&shpool->mutex);

        if (sh == NULL) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "kefu_metrics_zone is too small");
            return NGX_ERROR;
        }

        sh->magic = NGX_HTTP_KEFU_METRICS_MAGIC;
        sh->size = sizeof(ngx_http_kefu_metrics_sh_t);
        shpool->data = sh;

    } else {
        sh->reloads++;
    }

    mcf->sh = sh;

    t = mcf->kmcf->tenants.elts;

    for (i = 0; i < mcf->kmcf->tenants.nelts; i++) {
        slot = ngx_http_kefu_metrics_find(mcf, t[i].name.data, t[i].name.len,
                                          &sh->tn[0].used, sizeof(sh->tn[0]),
                                          NGX_HTTP_KEFU_METRICS_TENANTS);
        if (slot == NGX_HTTP_KEFU_METRICS_NONE) {
            ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                          "kefu_metrics: no room for tenant \"%V\", "
                          "its counts are not kept", &t[i].name);
        }

        mcf->tenant_slot[i] = slot;
    }

    return NGX_OK;
}


/*
 * Finds the named record in a table of the zone, or claims a free one.
 * The records of the tables start with "used" then name and len.
 */

static ngx_uint_t
ngx_http_kefu_metrics_find(ngx_http_kefu_metrics_conf_t *mcf, u_char *name,
    size_t len, ngx_atomic_t *used, size_t stride, ngx_uint_t n)
{
    u_char        *rec;
    size_t        *rlen;
    ngx_uint_t     i, slot;
    ngx_atomic_t  *u;

    if (len == 0 || len >= NGX_HTTP_KEFU_METRICS_NAME) {
        return NGX_HTTP_KEFU_METRICS_NONE;
    }

    slot = NGX_HTTP_KEFU_METRICS_NONE;

    ngx_shmtx_lock(&mcf->shpool->mutex);

    for (i = 0; i < n; i++) {
        u = (ngx_atomic_t *) ((u_char *) used + i * stride);
        rec = (u_char *) (u + 1);
        rlen = (size_t *) (rec + NGX_HTTP_KEFU_METRICS_NAME);

        if (!*u) {
            if (slot == NGX_HTTP_KEFU_METRICS_NONE) {
                slot = i;
            }

            /* records are claimed in order: no used one after a free one */
            break;
        }

        if (*rlen == len && ngx_memcmp(rec, name, len) == 0) {
            slot = i;
            goto done;
        }
    }

    if (slot != NGX_HTTP_KEFU_METRICS_NONE) {
        u = (ngx_atomic_t *) ((u_char *) used + slot * stride);
        rec = (u_char *) (u + 1);
        rlen = (size_t *) (rec + NGX_HTTP_KEFU_METRICS_NAME);

        ngx_memcpy(rec, name, len);
        *rlen = len;
        ngx_memory_barrier();
        *u = 1;
    }

done:

    ngx_shmtx_unlock(&mcf->shpool->mutex);

    return slot;
}


/* --- workers ------------------------------------------------------------ */

ngx_int_t
ngx_http_kefu_metrics_init_process(ngx_cycle_t *cycle)
{
    time_t                           now;
    ngx_uint_t                       i, slot;
    ngx_http_kefu_main_conf_t       *kmcf;
    ngx_http_kefu_metrics_conf_t    *mcf;
    ngx_http_kefu_metrics_worker_t  *wk;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kefu_module);
    if (kmcf == NULL || kmcf->metrics == NULL) {
        return NGX_OK;
    }

    mcf = kmcf->metrics;
    if (mcf->sh == NULL) {
        return NGX_OK;
    }

    now = ngx_time();
    slot = NGX_HTTP_KEFU_METRICS_NONE;

    ngx_shmtx_lock(&mcf->shpool->mutex);

    /* a free slot, else one left behind by a worker that died */
    for (i = 0; i < NGX_HTTP_KEFU_METRICS_WORKERS; i++) {
        wk = &mcf->sh->wk[i];

        if (wk->pid == 0) {
            slot = i;
            break;
        }

        if (slot == NGX_HTTP_KEFU_METRICS_NONE
            && (time_t) wk->updated + NGX_HTTP_KEFU_METRICS_STALE < now)
        {
            slot = i;
        }
    }

    if (slot != NGX_HTTP_KEFU_METRICS_NONE) {
        wk = &mcf->sh->wk[slot];
        ngx_memzero(wk, sizeof(ngx_http_kefu_metrics_worker_t));
        wk->pid = ngx_pid;
        wk->worker = ngx_worker;
        wk->updated = now;
    }

    ngx_shmtx_unlock(&mcf->shpool->mutex);

    mcf->worker_slot = slot;

    for (i = 0; i < NGX_HTTP_KEFU_METRICS_NODES; i++) {
        mcf->node_slot[i] = NGX_HTTP_KEFU_METRICS_NONE;
    }

    mcf->timer.handler = ngx_http_kefu_metrics_tick;
    mcf->timer.data = mcf;
    mcf->timer.log = cycle->log;
    mcf->timer.cancelable = 1;

    ngx_add_timer(&mcf->timer, 1000);

    return NGX_OK;
}


void
ngx_http_kefu_metrics_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_kefu_main_conf_t     *kmcf;
    ngx_http_kefu_metrics_conf_t  *mcf;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kefu_module);
    if (kmcf == NULL || kmcf->metrics == NULL) {
        return;
    }

    mcf = kmcf->metrics;
    if (mcf->sh == NULL) {
        return;
    }

    ngx_http_kefu_metrics_publish(mcf);

    if (mcf->timer.timer_set) {
        ngx_del_timer(&mcf->timer);
    }

    if (mcf->worker_slot != NGX_HTTP_KEFU_METRICS_NONE
        && mcf->sh->wk[mcf->worker_slot].pid == (ngx_atomic_uint_t) ngx_pid)
    {
        mcf->sh->wk[mcf->worker_slot].pid = 0;
    }

    mcf->worker_slot = NGX_HTTP_KEFU_METRICS_NONE;
}


static void
ngx_http_kefu_metrics_tick(ngx_event_t *ev)
{
    ngx_http_kefu_metrics_conf_t  *mcf = ev->data;

    ngx_http_kefu_metrics_publish(mcf);

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(ev, 1000);
    }
}


/* Adds what the worker's Redis counters grew by to the shared totals. */

#define ngx_http_kefu_metrics_add(field)                                     \
    if (st->field != mcf->published.field) {                                 \
        (void) ngx_atomic_fetch_add(&sh->redis.field,                        \
                                    st->field - mcf->published.field);       \
        mcf->published.field = st->field;                                    \
    }

#define ngx_http_kefu_metrics_add_ws(field)                                  \
    if (ws->field != mcf->published_ws.field) {                              \
        (void) ngx_atomic_fetch_add(&sh->workers.field,                      \
                                    ws->field - mcf->published_ws.field);    \
        mcf->published_ws.field = ws->field;                                 \
    }

static void
ngx_http_kefu_metrics_publish(ngx_http_kefu_metrics_conf_t *mcf)
{
    uint64_t                         lookups, hits;
    ngx_uint_t                       masters, up;
    ngx_http_kefu_metrics_sh_t      *sh;
    ngx_http_kefu_redis_stats_t     *st;
    ngx_http_kefu_worker_stats_t    *ws;
    ngx_http_kefu_metrics_worker_t  *wk;

    sh = mcf->sh;
    st = ngx_http_kefu_redis_stats();

    ngx_http_kefu_metrics_add(commands);
    ngx_http_kefu_metrics_add(errors);
    ngx_http_kefu_metrics_add(timeouts);
    ngx_http_kefu_metrics_add(reconnects);
    ngx_http_kefu_metrics_add(rejected);
    ngx_http_kefu_metrics_add(refreshes);

    ws = ngx_http_kefu_worker_stats();

    if (mcf->kmcf->memo != NULL) {
        kefu_memo_stats(mcf->kmcf->memo, &lookups, &hits);
        ws->memo_lookups = (ngx_atomic_uint_t) lookups;
        ws->memo_hits = (ngx_atomic_uint_t) hits;
    }

    ngx_http_kefu_metrics_add_ws(memo_lookups);
    ngx_http_kefu_metrics_add_ws(memo_hits);
    ngx_http_kefu_metrics_add_ws(session_copies);
    ngx_http_kefu_metrics_add_ws(session_refused);
    ngx_http_kefu_metrics_add_ws(counter_writes);
    ngx_http_kefu_metrics_add_ws(counters_dropped);

    if (mcf->worker_slot == NGX_HTTP_KEFU_METRICS_NONE) {
        return;
    }

    wk = &sh->wk[mcf->worker_slot];

    if (wk->pid != (ngx_atomic_uint_t) ngx_pid) {
        /* taken over as stale: this worker was stuck for long */
        mcf->worker_slot = NGX_HTTP_KEFU_METRICS_NONE;
        return;
    }

    wk->configured = ngx_http_kefu_redis_configured();
    wk->connected = ngx_http_kefu_redis_connected();
    wk->pending = st->pending;
    wk->cluster = ngx_http_kefu_redis_cluster(&masters, &up);
    wk->masters = masters;
    wk->up = up;
    wk->updated = ngx_time();

    if (wk->cluster) {
        ngx_http_kefu_metrics_publish_nodes(mcf);
    }
}


/* Adds what the worker's redirect counts per node grew by. */
static void
ngx_http_kefu_metrics_publish_nodes(ngx_http_kefu_metrics_conf_t *mcf)
{
    ngx_uint_t                        i, slot;
    ngx_http_kefu_metrics_node_t     *nd;
    ngx_http_kefu_redis_node_info_t   info;

    for (i = 0; i < NGX_HTTP_KEFU_METRICS_NODES; i++) {

        if (ngx_http_kefu_redis_node_info(i, &info) != NGX_OK) {
            break;
        }

        if (info.moved == mcf->node_moved[i] && info.ask == mcf->node_ask[i])
        {
            continue;
        }

        slot = mcf->node_slot[i];

        if (slot == NGX_HTTP_KEFU_METRICS_NONE) {
            slot = ngx_http_kefu_metrics_find(mcf, info.name.data,
                       info.name.len, &mcf->sh->nd[0].used,
                       sizeof(ngx_http_kefu_metrics_node_t),
                       NGX_HTTP_KEFU_METRICS_NODES);
            if (slot == NGX_HTTP_KEFU_METRICS_NONE) {
                continue;
            }

            mcf->node_slot[i] = slot;
        }

        nd = &mcf->sh->nd[slot];

        (void) ngx_atomic_fetch_add(&nd->moved,
                                    info.moved - mcf->node_moved[i]);
        (void) ngx_atomic_fetch_add(&nd->ask, info.ask - mcf->node_ask[i]);

        mcf->node_moved[i] = info.moved;
        mcf->node_ask[i] = info.ask;
    }
}


/* --- recording ---------------------------------------------------------- */

static ngx_int_t
ngx_http_kefu_metrics_log(ngx_http_request_t *r)
{
    ngx_uint_t                         i, status, slot, code;
    ngx_msec_int_t                     ms;
    ngx_time_t                        *tp;
    ngx_http_kefu_ctx_t               *ctx;
    ngx_http_kefu_main_conf_t         *kmcf;
    ngx_http_kefu_metrics_conf_t      *mcf;
    ngx_http_kefu_metrics_endpoint_t  *ep;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);
    if (ctx == NULL) {
        return NGX_OK;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);
    mcf = kmcf->metrics;

    if (mcf == NULL || mcf->sh == NULL) {
        return NGX_OK;
    }

    slot = ngx_http_kefu_metrics_endpoint(mcf, ctx->route);

    if (slot != NGX_HTTP_KEFU_METRICS_NONE) {
        ep = &mcf->sh->ep[slot];

        /* as $status */
        status = r->err_status ? r->err_status : r->headers_out.status;

        code = NGX_HTTP_KEFU_METRICS_CODE_SLOTS - 1;       /* none */

        for (i = 0; i < NGX_HTTP_KEFU_METRICS_NCODES; i++) {
            if (ngx_http_kefu_metrics_codes[i] == status) {
                code = i;
                break;
            }
        }

        if (i == NGX_HTTP_KEFU_METRICS_NCODES && status >= 100
            && status < 600)
        {
            code = NGX_HTTP_KEFU_METRICS_NCODES + status / 100 - 1;
        }

        tp = ngx_timeofday();
        ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                               + (tp->msec - r->start_msec));
        ms = ngx_max(ms, 0);

        (void) ngx_atomic_fetch_add(&ep->codes[code], 1);
        (void) ngx_atomic_fetch_add(&ep->count, 1);
        (void) ngx_atomic_fetch_add(&ep->sum_ms, ms);

        for (i = 0; i < NGX_HTTP_KEFU_METRICS_NBUCKETS; i++) {
            if ((ngx_msec_t) ms * 1000 <= ngx_http_kefu_metrics_buckets[i]) {
                (void) ngx_atomic_fetch_add(&ep->buckets[i], 1);
                break;
            }
        }
    }

    ngx_http_kefu_metrics_publish(mcf);

    return NGX_OK;
}


/* The endpoint's slot, cached per worker by route. */

static ngx_uint_t
ngx_http_kefu_metrics_endpoint(ngx_http_kefu_metrics_conf_t *mcf,
    ngx_http_kefu_route_t *route)
{
    u_char      name[NGX_HTTP_KEFU_METRICS_NAME];
    size_t      len;
    ngx_uint_t  i, slot;

    for (i = 0; i < mcf->ncache; i++) {
        if (mcf->cache[i].route == route) {
            return mcf->cache[i].slot;
        }
    }

    ngx_http_kefu_metrics_route_name(route, name, &len);

    slot = ngx_http_kefu_metrics_find(mcf, name, len, &mcf->sh->ep[0].used,
                                      sizeof(mcf->sh->ep[0]),
                                      NGX_HTTP_KEFU_METRICS_ENDPOINTS);

    if (mcf->ncache < NGX_HTTP_KEFU_METRICS_ENDPOINTS) {
        mcf->cache[mcf->ncache].route = route;
        mcf->cache[mcf->ncache++].slot = slot;
    }

    return slot;
}


/* "ask", "loss-reports/{id}" for prefix routes, "-" before routing */

/* Redis Cluster topology, when a worker has one: masters in the slot
 * map (the largest view), node connections ready (all workers), map
 * refreshes, redirects by the node that answered them */
static void
ngx_http_kefu_metrics_cluster(kefu_buf_t *mb, ngx_http_kefu_metrics_sh_t *sh,
    time_t now)
{
    ngx_uint_t                       i, cluster, masters, up;
    ngx_http_kefu_metrics_node_t    *nd;
    ngx_http_kefu_metrics_worker_t  *wk;

    cluster = 0;
    masters = 0;
    up = 0;

    for (i = 0; i < NGX_HTTP_KEFU_METRICS_WORKERS; i++) {
        wk = &sh->wk[i];

        if (wk->pid == 0
            || (time_t) wk->updated + NGX_HTTP_KEFU_METRICS_STALE < now
            || !wk->cluster)
        {
            continue;
        }

        cluster = 1;
        masters = ngx_max(masters, (ngx_uint_t) wk->masters);
        up += wk->up;
    }

    if (!cluster) {
        return;
    }

    kefu_buf_addf(mb,
        "# HELP kefu_redis_cluster_nodes Redis Cluster masters in the slot "
        "map.\n"
        "# TYPE kefu_redis_cluster_nodes gauge\n"
        "kefu_redis_cluster_nodes %lu\n"
        "# HELP kefu_redis_cluster_connections_up Redis Cluster node "
        "connections ready, all workers.\n"
        "# TYPE kefu_redis_cluster_connections_up gauge\n"
        "kefu_redis_cluster_connections_up %lu\n"
        "# HELP kefu_redis_cluster_refreshes_total Redis Cluster slot maps "
        "read.\n"
        "# TYPE kefu_redis_cluster_refreshes_total counter\n"
        "kefu_redis_cluster_refreshes_total %lu\n"
        "# HELP kefu_redis_cluster_redirects_total MOVED and ASK replies, by "
        "the node that sent them.\n"
        "# TYPE kefu_redis_cluster_redirects_total counter\n",
        (unsigned long) masters, (unsigned long) up,
        (unsigned long) sh->redis.refreshes);

    for (i = 0; i < NGX_HTTP_KEFU_METRICS_NODES && sh->nd[i].used; i++) {
        nd = &sh->nd[i];

        kefu_buf_adds(mb, "kefu_redis_cluster_redirects_total{node=");
        ngx_http_kefu_metrics_label(mb, nd->name, nd->len);
        kefu_buf_addf(mb, ",kind=\"moved\"} %lu\n",
                      (unsigned long) nd->moved);

        kefu_buf_adds(mb, "kefu_redis_cluster_redirects_total{node=");
        ngx_http_kefu_metrics_label(mb, nd->name, nd->len);
        kefu_buf_addf(mb, ",kind=\"ask\"} %lu\n", (unsigned long) nd->ask);
    }
}


static void
ngx_http_kefu_metrics_route_name(ngx_http_kefu_route_t *route, u_char *buf,
    size_t *len)
{
    u_char  *p;

    if (route == NULL) {
        *buf = '-';
        *len = 1;
        return;
    }

    if (route->path.len + sizeof("{id}") > NGX_HTTP_KEFU_METRICS_NAME) {
        *len = 0;
        return;
    }

    p = ngx_cpymem(buf, route->path.data, route->path.len);

    if (route->prefix) {
        p = ngx_cpymem(p, "{id}", 4);
    }

    *len = p - buf;
}


/* The /v1/ask hook: counts the reply and keeps it for the variables. */

void
ngx_http_kefu_metrics_ask(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_uint_t type, u_char *faq_id, size_t faq_id_len, double confidence)
{
    ngx_uint_t                     i;
    ngx_http_kefu_main_conf_t     *kmcf;
    ngx_http_kefu_metrics_conf_t  *mcf;

    if (type >= NGX_HTTP_KEFU_METRICS_REPLIES) {
        return;
    }

    ctx->reply = type + 1;
    ctx->faq_id.data = faq_id;
    ctx->faq_id.len = faq_id ? faq_id_len : 0;
    ctx->confidence = confidence;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);
    mcf = kmcf->metrics;

    if (mcf == NULL || mcf->sh == NULL || ctx->tenant == NULL) {
        return;
    }

    i = ctx->tenant - (ngx_http_kefu_tenant_t *) kmcf->tenants.elts;

    if (i >= kmcf->tenants.nelts
        || mcf->tenant_slot[i] == NGX_HTTP_KEFU_METRICS_NONE)
    {
        return;
    }

    (void) ngx_atomic_fetch_add(&mcf->sh->tn[mcf->tenant_slot[i]]
                                .replies[type], 1);
}


/* --- the kefu_metrics location ----------------------------------------- */

static ngx_int_t
ngx_http_kefu_metrics_handler(ngx_http_request_t *r)
{
    time_t                             now;
    ngx_int_t                          rc;
    ngx_uint_t                         i, j, k, cum;
    ngx_buf_t                         *b;
    ngx_chain_t                        out;
    kefu_buf_t                         mb;
    kefu_alloc_t                       alloc;
    ngx_atomic_uint_t                  codes[NGX_HTTP_KEFU_METRICS_CODE_SLOTS];
    ngx_http_kefu_tenant_t            *t;
    ngx_http_kefu_main_conf_t         *kmcf;
    ngx_http_kefu_metrics_sh_t        *sh;
    ngx_http_kefu_metrics_conf_t      *mcf;
    ngx_http_kefu_metrics_tenant_t    *tn;
    ngx_http_kefu_metrics_worker_t    *wk;
    ngx_http_kefu_metrics_endpoint_t  *ep;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);
    mcf = kmcf->metrics;

    if (mcf == NULL || mcf->sh == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sh = mcf->sh;
    ngx_http_kefu_metrics_publish(mcf);

    alloc.alloc = ngx_http_kefu_pool_alloc;
    alloc.ctx = r->pool;
    kefu_buf_init(&mb, &alloc, 16384);

    kefu_buf_adds(&mb,
        "# HELP kefu_requests_total Requests served by kefu_api, by "
        "endpoint and status code.\n"
        "# TYPE kefu_requests_total counter\n");

    for (i = 0; i < NGX_HTTP_KEFU_METRICS_ENDPOINTS && sh->ep[i].used; i++) {
        ep = &sh->ep[i];

        for (j = 0; j < NGX_HTTP_KEFU_METRICS_CODE_SLOTS; j++) {
            codes[j] = ep->codes[j];

            if (codes[j] == 0) {
                continue;
            }

            kefu_buf_adds(&mb, "kefu_requests_total{endpoint=");
            ngx_http_kefu_metrics_label(&mb, ep->name, ep->len);

            if (j < NGX_HTTP_KEFU_METRICS_NCODES) {
                kefu_buf_addf(&mb, ",code=\"%u\",class=\"%uxx\"} %lu\n",
                              (unsigned) ngx_http_kefu_metrics_codes[j],
                              (unsigned) ngx_http_kefu_metrics_codes[j] / 100,
                              (unsigned long) codes[j]);

            } else if (j < NGX_HTTP_KEFU_METRICS_CODE_SLOTS - 1) {
                k = j - NGX_HTTP_KEFU_METRICS_NCODES + 1;
                kefu_buf_addf(&mb, ",code=\"%uxx\",class=\"%uxx\"} %lu\n",
                              (unsigned) k, (unsigned) k,
                              (unsigned long) codes[j]);

            } else {
                kefu_buf_addf(&mb, ",code=\"0\",class=\"none\"} %lu\n",
                              (unsigned long) codes[j]);
            }
        }
    }

    kefu_buf_adds(&mb,
        "# HELP kefu_request_duration_seconds Time from the request's "
        "first byte to its log phase, by endpoint.\n"
        "# TYPE kefu_request_duration_seconds histogram\n");

    for (i = 0; i < NGX_HTTP_KEFU_METRICS_ENDPOINTS && sh->ep[i].used; i++) {
        ep = &sh->ep[i];
        cum = 0;

        for (j = 0; j < NGX_HTTP_KEFU_METRICS_NBUCKETS; j++) {
            cum += ep->buckets[j];
            kefu_buf_adds(&mb, "kefu_request_duration_seconds_bucket"
                               "{endpoint=");
            ngx_http_kefu_metrics_label(&mb, ep->name, ep->len);
            kefu_buf_addf(&mb, ",le=\"%s\"} %lu\n",
                          ngx_http_kefu_metrics_le[j], (unsigned long) cum);
        }

        /* count is read after the buckets: +Inf never falls below them */
        cum = ngx_max(cum, (ngx_uint_t) ep->count);

        kefu_buf_adds(&mb, "kefu_request_duration_seconds_bucket{endpoint=");
        ngx_http_kefu_metrics_label(&mb, ep->name, ep->len);
        kefu_buf_addf(&mb, ",le=\"+Inf\"} %lu\n", (unsigned long) cum);

        kefu_buf_adds(&mb, "kefu_request_duration_seconds_sum{endpoint=");
        ngx_http_kefu_metrics_label(&mb, ep->name, ep->len);
        kefu_buf_addf(&mb, "} %.3f\n", (double) ep->sum_ms / 1000);

        kefu_buf_adds(&mb, "kefu_request_duration_seconds_count{endpoint=");
        ngx_http_kefu_metrics_label(&mb, ep->name, ep->len);
        kefu_buf_addf(&mb, "} %lu\n", (unsigned long) cum);
    }

    kefu_buf_adds(&mb,
        "# HELP kefu_redis_up 1 when the worker's Redis connection is "
        "ready.\n"
        "# TYPE kefu_redis_up gauge\n");

    now = ngx_time();

    for (i = 0; i < NGX_HTTP_KEFU_METRICS_WORKERS; i++) {
        wk = &sh->wk[i];

        if (wk->pid == 0
            || (time_t) wk->updated + NGX_HTTP_KEFU_METRICS_STALE < now
            || !wk->configured)
        {
            continue;
        }

        kefu_buf_addf(&mb, "kefu_redis_up{worker=\"%lu\",pid=\"%lu\"} %lu\n",
                      (unsigned long) wk->worker, (unsigned long) wk->pid,
                      (unsigned long) wk->connected);
    }

    kefu_buf_adds(&mb,
        "# HELP kefu_redis_pending Redis commands awaiting a reply.\n"
        "# TYPE kefu_redis_pending gauge\n");

    for (i = 0; i < NGX_HTTP_KEFU_METRICS_WORKERS; i++) {
        wk = &sh->wk[i];

        if (wk->pid == 0
            || (time_t) wk->updated + NGX_HTTP_KEFU_METRICS_STALE < now
            || !wk->configured)
        {
            continue;
        }

        kefu_buf_addf(&mb,
                      "kefu_redis_pending{worker=\"%lu\",pid=\"%lu\"} %lu\n",
                      (unsigned long) wk->worker, (unsigned long) wk->pid,
                      (unsigned long) wk->pending);
    }

    ngx_http_kefu_metrics_cluster(&mb, sh, now);

    kefu_buf_addf(&mb,
        "# HELP kefu_redis_commands_total Redis commands sent.\n"
        "# TYPE kefu_redis_commands_total counter\n"
        "kefu_redis_commands_total %lu\n"
        "# HELP kefu_redis_errors_total Redis connection failures.\n"
        "# TYPE kefu_redis_errors_total counter\n"
        "kefu_redis_errors_total %lu\n"
        "# HELP kefu_redis_timeouts_total Redis batches past the timeout.\n"
        "# TYPE kefu_redis_timeouts_total counter\n"
        "kefu_redis_timeouts_total %lu\n"
        "# HELP kefu_redis_reconnects_total Redis reconnection attempts.\n"
        "# TYPE kefu_redis_reconnects_total counter\n"
        "kefu_redis_reconnects_total %lu\n"
        "# HELP kefu_redis_rejected_total Requests refused while Redis was "
        "down or its queue full.\n"
        "# TYPE kefu_redis_rejected_total counter\n"
        "kefu_redis_rejected_total %lu\n",
        (unsigned long) sh->redis.commands, (unsigned long) sh->redis.errors,
        (unsigned long) sh->redis.timeouts,
        (unsigned long) sh->redis.reconnects,
        (unsigned long) sh->redis.rejected);

    kefu_buf_addf(&mb,
        "# HELP kefu_search_memo_lookups_total /v1/ask questions looked up "
        "in the workers' search memo.\n"
        "# TYPE kefu_search_memo_lookups_total counter\n"
        "kefu_search_memo_lookups_total %lu\n"
        "# HELP kefu_search_memo_hits_total Of them, found: not ranked "
        "again.\n"
        "# TYPE kefu_search_memo_hits_total counter\n"
        "kefu_search_memo_hits_total %lu\n"
        "# HELP kefu_session_copies_total /v1/ask turns written against "
        "the worker's copy of the session, without reading it.\n"
        "# TYPE kefu_session_copies_total counter\n"
        "kefu_session_copies_total %lu\n"
        "# HELP kefu_session_refused_total Session writes Redis refused "
        "because the session had changed; the turn was done again.\n"
        "# TYPE kefu_session_refused_total counter\n"
        "kefu_session_refused_total %lu\n"
        "# HELP kefu_counter_writes_total Scripts that wrote the workers' "
        "sums of the /v1/ask counters.\n"
        "# TYPE kefu_counter_writes_total counter\n"
        "kefu_counter_writes_total %lu\n"
        "# HELP kefu_counters_dropped_total Counter increments lost (sums "
        "full while Redis was down, or a failed write).\n"
        "# TYPE kefu_counters_dropped_total counter\n"
        "kefu_counters_dropped_total %lu\n",
        (unsigned long) sh->workers.memo_lookups,
        (unsigned long) sh->workers.memo_hits,
        (unsigned long) sh->workers.session_copies,
        (unsigned long) sh->workers.session_refused,
        (unsigned long) sh->workers.counter_writes,
        (unsigned long) sh->workers.counters_dropped);

    kefu_buf_adds(&mb,
        "# HELP kefu_kb_faqs FAQs in the tenant's knowledge base.\n"
        "# TYPE kefu_kb_faqs gauge\n");

    t = kmcf->tenants.elts;

    for (i = 0; i < kmcf->tenants.nelts; i++) {
        kefu_buf_adds(&mb, "kefu_kb_faqs{tenant=");
        ngx_http_kefu_metrics_label(&mb, t[i].name.data, t[i].name.len);
        kefu_buf_addf(&mb, "} %lu\n", (unsigned long) t[i].kb->nfaqs);
    }

    kefu_buf_adds(&mb,
        "# HELP kefu_kb_info The knowledge base version each tenant "
        "serves.\n"
        "# TYPE kefu_kb_info gauge\n");

    for (i = 0; i < kmcf->tenants.nelts; i++) {
        kefu_buf_adds(&mb, "kefu_kb_info{tenant=");
        ngx_http_kefu_metrics_label(&mb, t[i].name.data, t[i].name.len);
        kefu_buf_adds(&mb, ",version=");
        ngx_http_kefu_metrics_label(&mb, t[i].kb->version.data,
                                    t[i].kb->version.len);
        kefu_buf_adds(&mb, "} 1\n");
    }

    kefu_buf_adds(&mb,
        "# HELP kefu_ask_replies_total /v1/ask replies by tenant and type.\n"
        "# TYPE kefu_ask_replies_total counter\n");

    for (i = 0; i < kmcf->tenants.nelts; i++) {
        if (mcf->tenant_slot[i] == NGX_HTTP_KEFU_METRICS_NONE) {
            continue;
        }

        tn = &sh->tn[mcf->tenant_slot[i]];

        for (j = 0; j < NGX_HTTP_KEFU_METRICS_REPLIES; j++) {
            kefu_buf_adds(&mb, "kefu_ask_replies_total{tenant=");
            ngx_http_kefu_metrics_label(&mb, t[i].name.data, t[i].name.len);
            kefu_buf_addf(&mb, ",type=\"%s\"} %lu\n",
                          ngx_http_kefu_metrics_replies[j],
                          (unsigned long) tn->replies[j]);
        }
    }

    kefu_buf_addf(&mb,
        "# HELP kefu_metrics_zone_reloads_total Configuration reloads that "
        "kept these counters.\n"
        "# TYPE kefu_metrics_zone_reloads_total counter\n"
        "kefu_metrics_zone_reloads_total %lu\n",
        (unsigned long) sh->reloads);

    if (mb.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = mb.len;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = mb.data;
    b->last = mb.data + mb.len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* A quoted label value: backslash, quote and newline escaped. */

static void
ngx_http_kefu_metrics_label(kefu_buf_t *b, u_char *s, size_t len)
{
    size_t  i, start;

    kefu_buf_adds(b, "\"");

    for (i = 0, start = 0; i < len; i++) {
        if (s[i] != '\\' && s[i] != '"' && s[i] != '\n') {
            continue;
        }

        kefu_buf_add(b, s + start, i - start);
        kefu_buf_adds(b, s[i] == '\\' ? "\\\\" : s[i] == '"' ? "\\\"" : "\\n");
        start = i + 1;
    }

    kefu_buf_add(b, s + start, len - start);
    kefu_buf_adds(b, "\"");
}


/* --- variables ---------------------------------------------------------- */

static ngx_int_t
ngx_http_kefu_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char               *p;
    size_t                len;
    ngx_http_kefu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    v->not_found = 1;

    if (ctx == NULL) {
        return NGX_OK;
    }

    p = NULL;
    len = 0;

    switch (data) {

    case NGX_HTTP_KEFU_VAR_TENANT:
        if (ctx->tenant != NULL) {
            p = ctx->tenant->name.data;
            len = ctx->tenant->name.len;
        }
        break;

    case NGX_HTTP_KEFU_VAR_USER:
        /* set only once the token was verified */
        if (ctx->tenant != NULL) {
            p = ctx->user.data;
            len = ctx->user.len;
        }
        break;

    case NGX_HTTP_KEFU_VAR_ROUTE:
        if (ctx->route != NULL) {
            p = ngx_pnalloc(r->pool, NGX_HTTP_KEFU_METRICS_NAME);
            if (p == NULL) {
                return NGX_ERROR;
            }

            ngx_http_kefu_metrics_route_name(ctx->route, p, &len);
        }
        break;

    case NGX_HTTP_KEFU_VAR_FAQ_ID:
        p = ctx->faq_id.data;
        len = ctx->faq_id.len;
        break;

    case NGX_HTTP_KEFU_VAR_CONFIDENCE:
        if (ctx->reply) {
            p = ngx_pnalloc(r->pool, sizeof("-0.000") + NGX_INT_T_LEN);
            if (p == NULL) {
                return NGX_ERROR;
            }

            len = ngx_sprintf(p, "%.3f", ctx->confidence) - p;
        }
        break;

    case NGX_HTTP_KEFU_VAR_REPLY:
        if (ctx->reply && ctx->reply <= NGX_HTTP_KEFU_METRICS_REPLIES) {
            p = (u_char *) ngx_http_kefu_metrics_replies[ctx->reply - 1];
            len = ngx_strlen(p);
        }
        break;
    }

    if (p == NULL || len == 0) {
        return NGX_OK;
    }

    v->data = p;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
