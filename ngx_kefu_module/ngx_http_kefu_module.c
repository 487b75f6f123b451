/*
 * ngx_kefu: module definition, directives and configuration.
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_metrics.h"
#include "ngx_http_kefu_report.h"
#include "ngx_http_kefu_tenant.h"


static void *ngx_http_kefu_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_kefu_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_kefu_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_kefu_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_kefu_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_kefu_init_process(ngx_cycle_t *cycle);
static void ngx_http_kefu_exit_process(ngx_cycle_t *cycle);


/* at least 10 ms: a write per request is what the sums avoid */
static ngx_conf_num_bounds_t  ngx_http_kefu_stats_flush_bounds = {
    ngx_conf_check_num_bounds, 10, 60000
};


/* learned similar questions per tenant */
static ngx_conf_num_bounds_t  ngx_http_kefu_learned_max_bounds = {
    ngx_conf_check_num_bounds, 1, 1000000
};


static ngx_command_t  ngx_http_kefu_commands[] = {

    { ngx_string("kefu_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_kefu_redis_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_kefu_main_conf_t, redis),
      NULL },

    { ngx_string("kefu_redis_cluster"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_kefu_redis_cluster_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_kefu_main_conf_t, redis),
      NULL },

    { ngx_string("kefu_tenant"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_kefu_tenant_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kefu_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_kefu_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kefu_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_kefu_loc_conf_t, max_body),
      NULL },

    { ngx_string("kefu_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_kefu_metrics_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kefu_stats_flush"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_kefu_main_conf_t, stats_flush),
      &ngx_http_kefu_stats_flush_bounds },

    { ngx_string("kefu_learned_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_kefu_main_conf_t, learned_max),
      &ngx_http_kefu_learned_max_bounds },

    { ngx_string("kefu_learned_poll"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_kefu_main_conf_t, learned_poll),
      NULL },

    { ngx_string("kefu_report_replicas"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_kefu_report_replicas,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kefu_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_kefu_metrics_zone_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_kefu_module_ctx = {
    ngx_http_kefu_metrics_preconfiguration, /* preconfiguration */
    ngx_http_kefu_metrics_postconfiguration, /* postconfiguration */

    ngx_http_kefu_create_main_conf,        /* create main configuration */
    ngx_http_kefu_init_main_conf,          /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_kefu_create_loc_conf,         /* create location configuration */
    ngx_http_kefu_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_kefu_module = {
    NGX_MODULE_V1,
    &ngx_http_kefu_module_ctx,             /* module context */
    ngx_http_kefu_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_kefu_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_kefu_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_kefu_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_kefu_main_conf_t  *kmcf;

    kmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_kefu_main_conf_t));
    if (kmcf == NULL) {
        return NULL;
    }

    kmcf->stats_flush = NGX_CONF_UNSET_MSEC;
    kmcf->learned_max = NGX_CONF_UNSET_UINT;
    kmcf->learned_poll = NGX_CONF_UNSET;

    if (ngx_array_init(&kmcf->tenants, cf->pool, 4,
                       sizeof(ngx_http_kefu_tenant_t))
        != NGX_OK)
    {
        return NULL;
    }

    return kmcf;
}


/* Each endpoint's scripts, then its own defaults, then the tenants. */

static char *
ngx_http_kefu_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_kefu_main_conf_t  *kmcf = conf;

    ngx_int_t                        *ids;
    ngx_uint_t                        i;
    const ngx_http_kefu_endpoint_t  **ep;

    for (ep = ngx_http_kefu_endpoints; *ep; ep++) {

        /* loaded again on every Redis connect */
        ids = (ngx_int_t *) ((u_char *) kmcf + (*ep)->script_ids);

        for (i = 0; (*ep)->scripts && (*ep)->scripts[i]; i++) {
            ids[i] = ngx_http_kefu_redis_add_script(cf, &kmcf->redis,
                                                    (*ep)->scripts[i]);
            if (ids[i] == NGX_ERROR) {
                return NGX_CONF_ERROR;
            }
        }

        if ((*ep)->init_conf && (*ep)->init_conf(cf, kmcf) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return ngx_http_kefu_tenants_init(cf, kmcf);
}


static void *
ngx_http_kefu_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_kefu_loc_conf_t  *klcf;

    klcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_kefu_loc_conf_t));
    if (klcf == NULL) {
        return NULL;
    }

    klcf->enable = NGX_CONF_UNSET;
    klcf->max_body = NGX_CONF_UNSET_SIZE;

    return klcf;
}


static char *
ngx_http_kefu_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_kefu_loc_conf_t  *prev = parent;
    ngx_http_kefu_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_size_value(conf->max_body, prev->max_body, 64 * 1024);

    return NGX_CONF_OK;
}


static char *
ngx_http_kefu_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_kefu_loc_conf_t  *klcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (klcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    klcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_kefu_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_kefu_init_process(ngx_cycle_t *cycle)
{
    ngx_http_kefu_main_conf_t        *kmcf;
    const ngx_http_kefu_endpoint_t  **ep;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kefu_module);
    if (kmcf == NULL) {
        return NGX_OK;
    }

    if (ngx_http_kefu_tenants_init_process(cycle, kmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_kefu_redis_init_process(cycle, &kmcf->redis) != NGX_OK) {
        return NGX_ERROR;
    }

    for (ep = ngx_http_kefu_endpoints; *ep; ep++) {
        if ((*ep)->init_process
            && (*ep)->init_process(cycle, kmcf) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_kefu_metrics_init_process(cycle);
}


static void
ngx_http_kefu_exit_process(ngx_cycle_t *cycle)
{
    const ngx_http_kefu_endpoint_t  **ep;

    ngx_http_kefu_metrics_exit_process(cycle);

    for (ep = ngx_http_kefu_endpoints; *ep; ep++) {
        if ((*ep)->exit_process) {
            (*ep)->exit_process(cycle);
        }
    }

    ngx_http_kefu_redis_exit_process(cycle);
}


/* the worker's own: each process has its copy */
static ngx_http_kefu_worker_stats_t  ngx_http_kefu_stats;


ngx_http_kefu_worker_stats_t *
ngx_http_kefu_worker_stats(void)
{
    return &ngx_http_kefu_stats;
}


/* kefu_alloc_t over an nginx pool: the core's memory dies with the pool */

void *
ngx_http_kefu_pool_alloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}
