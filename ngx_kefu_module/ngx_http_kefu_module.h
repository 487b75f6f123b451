/*
 * ngx_kefu: types shared by the nginx glue.  Each file's functions are
 * declared in its own header (ngx_http_kefu_handler.h: the pipeline and
 * the helpers every endpoint uses).
 */

#ifndef NGX_HTTP_KEFU_MODULE_H
#define NGX_HTTP_KEFU_MODULE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <hiredis/hiredis.h>

#include "kefu_core.h"
#include "kefu_json.h"
#include "kefu_jwt.h"
#include "kefu_kb.h"
#include "ngx_http_kefu_redis.h"


/* kefu:{t}:kb:dismissed: the trainer's dismissals (and auto-adoptions) */
#define NGX_HTTP_KEFU_DISMISS_MAX  "1000"
#define NGX_HTTP_KEFU_DISMISS_TTL  2592000     /* 30 days */


typedef struct {
    ngx_str_t               name;
    ngx_str_t               secret;         /* HS256 key, never logged */
    ngx_str_t               secret_file;
    ngx_str_t               kb_file;
    kefu_kb_t              *kb;             /* the file's, or the worker's
                                               copy with learned questions
                                               (ngx_http_kefu_learn_poll.c) */
    void                   *learn;          /* the worker's learned state */
    double                  answer_threshold;
    double                  clarify_threshold;
    time_t                  session_ttl;
    ngx_uint_t              session_turns;
    ngx_uint_t              trail_max;
    time_t                  trail_ttl;
    time_t                  trail_half_life;
    ngx_uint_t              suggest_limit;
    void                   *suggest;        /* kefu_trigger_index_t */
    double                  suggest_scene_weight;
    double                  suggest_hot_weight;
    time_t                  suggest_hot_half_life;
    time_t                  suggest_risk_window;
    time_t                  suggest_asked_window;
    ngx_uint_t              suggest_per_topic;
    ngx_uint_t              stats_top_max;      /* a day's :q and :u */
    ngx_uint_t              unanswered_per_user; /* per user and day */
    ngx_uint_t              stream_max;         /* agents, feedback */
    ngx_uint_t              handoff_per_user;   /* waiting tickets */
    ngx_uint_t              loss_reports_per_day;   /* per user */
    ngx_uint_t              learn_min_users;    /* tapped pairs */
    ngx_flag_t              learn_auto_adopt;   /* ... adopted by the poll */
} ngx_http_kefu_tenant_t;


typedef struct {
    ngx_array_t                 tenants;    /* ngx_http_kefu_tenant_t */
    ngx_http_kefu_redis_conf_t  redis;
    ngx_int_t                   report_scripts[2];  /* loss reports */
    ngx_int_t                   service_scripts[2]; /* handoff, feedback */
    ngx_int_t                   backoffice_scripts[1];  /* ticket close */
    ngx_int_t                   events_scripts[2]; /* /v1/events */
    ngx_int_t                   ask_scripts[1]; /* /v1/ask writes */
    ngx_int_t                   kbsuggest_scripts[1]; /* dismiss */
    ngx_int_t                   tally_script;   /* the summed counters */
    ngx_int_t                   calls_script;   /* whoami's counter TTL */
    ngx_msec_t                  stats_flush;    /* kefu_stats_flush */
    ngx_uint_t                  report_replicas;    /* kefu_report_replicas */
    ngx_msec_t                  report_replicas_timeout;
    ngx_uint_t                  sorted;     /* tenants sorted by name */
    ngx_uint_t                  learned_max;    /* kefu_learned_max */
    ngx_flag_t                  learned_poll;   /* kefu_learned_poll */
    ngx_int_t                   learn_scripts[2];
    void                       *scratch;    /* the worker's search state */
    void                       *memo;       /* its kefu_memo_t of /v1/ask */
    void                       *metrics;    /* ngx_http_kefu_metrics.c */
} ngx_http_kefu_main_conf_t;


typedef struct {
    ngx_flag_t              enable;
    size_t                  max_body;
} ngx_http_kefu_loc_conf_t;


/* The worker's counters of its memo, session copies and counter sums,
 * published by ngx_http_kefu_metrics.c; they only grow. */
typedef struct {
    ngx_atomic_uint_t       memo_lookups;
    ngx_atomic_uint_t       memo_hits;
    ngx_atomic_uint_t       session_copies;     /* turns without a read */
    ngx_atomic_uint_t       session_refused;    /* turns done again */
    ngx_atomic_uint_t       counter_writes;     /* scripts of sums */
    ngx_atomic_uint_t       counters_dropped;   /* increments lost */
} ngx_http_kefu_worker_stats_t;


typedef struct ngx_http_kefu_ctx_s  ngx_http_kefu_ctx_t;

typedef ngx_int_t (*ngx_http_kefu_endpoint_pt)(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);

typedef struct {
    ngx_str_t                   path;       /* after "/v1/"; may end "/" */
    ngx_uint_t                  methods;    /* NGX_HTTP_GET | ... */
    ngx_http_kefu_endpoint_pt   handler;
    unsigned                    auth:1;
    unsigned                    admin:1;
    unsigned                    prefix:1;   /* path + "{id}" */
} ngx_http_kefu_route_t;


struct ngx_http_kefu_ctx_s {
    ngx_http_kefu_route_t      *route;
    ngx_str_t                   path_arg;   /* "{id}" of prefix routes */
    ngx_http_kefu_tenant_t     *tenant;
    ngx_str_t                   user;
    unsigned                    admin:1;
    kefu_alloc_t                alloc;      /* backed by r->pool */
    kefu_json_t                *body;       /* parsed JSON object */
    void                       *data;       /* endpoint state */
    const char                 *err_code;   /* why the request is refused */
    const char                 *err_msg;
    char                        err_buf[128];

    /* the reply of /v1/ask, for $kefu_faq_id etc. (metrics.c) */
    ngx_uint_t                  reply;      /* KEFU_REPLY_* + 1; 0: none */
    ngx_str_t                   faq_id;
    double                      confidence;
};


extern ngx_module_t  ngx_http_kefu_module;


/* ngx_http_kefu_module.c */
void *ngx_http_kefu_pool_alloc(void *pool, size_t size);
ngx_http_kefu_worker_stats_t *ngx_http_kefu_worker_stats(void);

#include "ngx_http_kefu_keys.h"

#endif /* NGX_HTTP_KEFU_MODULE_H */
