/*
 * ngx_kefu: types shared by the nginx glue.
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
                                               (ngx_http_kefu_learn.c) */
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
    ngx_int_t                   scripts[5]; /* service flows' Lua scripts */
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
char *ngx_http_kefu_add_scripts(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf, const ngx_http_kefu_lua_t **scripts,
    ngx_int_t *ids, ngx_uint_t n);

/* ngx_http_kefu_handler.c */
ngx_int_t ngx_http_kefu_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_kefu_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message);
ngx_int_t ngx_http_kefu_send_json(ngx_http_request_t *r, ngx_uint_t status,
    kefu_buf_t *body);
ngx_int_t ngx_http_kefu_add_header(ngx_http_request_t *r, const char *key,
    const char *value);
ngx_int_t ngx_http_kefu_user_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const char *suffix, ngx_str_t *key);
ngx_int_t ngx_http_kefu_tenant_key(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, const char *suffix, ngx_str_t *key);
ngx_int_t ngx_http_kefu_unavailable(ngx_http_request_t *r);
void ngx_http_kefu_add_actions(kefu_buf_t *b, unsigned actions);
ngx_int_t ngx_http_kefu_redis_started(ngx_http_request_t *r, ngx_int_t rc);
void ngx_http_kefu_question_hash(ngx_str_t *q, u_char *hex16);
ngx_int_t ngx_http_kefu_redis_outcome(ngx_http_request_t *r, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n, ngx_uint_t expect,
    const char *what, ngx_str_t *key);
ngx_int_t ngx_http_kefu_redis_unexpected(ngx_http_request_t *r,
    ngx_http_kefu_redis_reply_t *rep, const char *what, ngx_str_t *key);
void ngx_http_kefu_redis_log_reply(ngx_http_request_t *r,
    ngx_http_kefu_redis_reply_t *rep, const char *what, ngx_str_t *key);
void ngx_http_kefu_day(time_t now, u_char *buf);
ngx_int_t ngx_http_kefu_query_uint(ngx_http_request_t *r, const char *name,
    ngx_uint_t def, ngx_uint_t max, ngx_uint_t *out);
ngx_int_t ngx_http_kefu_random_id(ngx_http_request_t *r, size_t n,
    ngx_str_t *id);
ngx_http_kefu_tenant_t *ngx_http_kefu_find_tenant(
    ngx_http_kefu_main_conf_t *kmcf, u_char *name, size_t len);

/* endpoints */
ngx_int_t ngx_http_kefu_health(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
ngx_int_t ngx_http_kefu_whoami(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
char *ngx_http_kefu_status_init_conf(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf);
ngx_int_t ngx_http_kefu_ask(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx);
char *ngx_http_kefu_ask_init_conf(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf);
ngx_int_t ngx_http_kefu_admin_search(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
/* ngx_http_kefu_suggest.c, ngx_http_kefu_events.c ("猜你关心") */
ngx_int_t ngx_http_kefu_suggestions(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
ngx_int_t ngx_http_kefu_events(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
char *ngx_http_kefu_events_init_conf(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf);
size_t ngx_http_kefu_sum_entries(ngx_http_kefu_redis_reply_t *rep);
ngx_int_t ngx_http_kefu_suggest_hot_incr(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, time_t now, ngx_str_t *key, double *incr,
    time_t *ttl);
/* service flows: loss reports, handoff, feedback, stats */
char *ngx_http_kefu_service_init_conf(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf);
ngx_int_t ngx_http_kefu_loss_report_create(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
ngx_int_t ngx_http_kefu_loss_report_get(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
ngx_int_t ngx_http_kefu_admin_loss_report(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
char *ngx_http_kefu_report_replicas(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_kefu_handoff(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
ngx_int_t ngx_http_kefu_feedback(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
ngx_int_t ngx_http_kefu_admin_stats(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
/* ngx_http_kefu_kbsuggest.c: the trainer's suggestions */
char *ngx_http_kefu_kbsuggest_init_conf(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf);
ngx_int_t ngx_http_kefu_admin_kb_suggestions(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
ngx_int_t ngx_http_kefu_admin_kb_dismiss(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
/* ngx_http_kefu_backoffice.c: the back office's lists and tickets */
ngx_int_t ngx_http_kefu_admin_loss_reports(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
ngx_int_t ngx_http_kefu_admin_tickets(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
ngx_int_t ngx_http_kefu_admin_ticket(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);

/* ngx_http_kefu_sessions.c: the worker's copies of the sessions it wrote */
ngx_int_t ngx_http_kefu_sessions_init_process(ngx_cycle_t *cycle);
void ngx_http_kefu_sessions_exit_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_kefu_sessions_get(ngx_pool_t *pool, ngx_str_t *key,
    ngx_str_t *value);
void ngx_http_kefu_sessions_put(ngx_str_t *key, ngx_str_t *value);
void ngx_http_kefu_sessions_drop(ngx_str_t *key);

/* ngx_http_kefu_tally.c: the tenants' counters, summed per worker */
#define NGX_HTTP_KEFU_TALLY_COUNT  0    /* hash field, TTL set once */
#define NGX_HTTP_KEFU_TALLY_RANK   1    /* sorted set, TTL set once */
#define NGX_HTTP_KEFU_TALLY_HOT    2    /* sorted set, TTL refreshed */

char *ngx_http_kefu_tally_init_conf(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf);
ngx_int_t ngx_http_kefu_tally_init_process(ngx_cycle_t *cycle,
    ngx_http_kefu_main_conf_t *kmcf);
void ngx_http_kefu_tally_exit_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_kefu_tally_add(ngx_http_kefu_tenant_t *t, ngx_uint_t kind,
    ngx_str_t *key, ngx_str_t *member, double incr, time_t ttl);

/* ngx_http_kefu_learn.c: learned similar questions */
char *ngx_http_kefu_learn_init_conf(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf);
ngx_int_t ngx_http_kefu_learn_init_process(ngx_cycle_t *cycle,
    ngx_http_kefu_main_conf_t *kmcf);
ngx_int_t ngx_http_kefu_admin_similar(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
ngx_int_t ngx_http_kefu_admin_similar_delete(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
ngx_int_t ngx_http_kefu_admin_kb_export(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);

/* ngx_http_kefu_metrics.c */
char *ngx_http_kefu_metrics_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_kefu_metrics_zone_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_kefu_metrics_preconfiguration(ngx_conf_t *cf);
ngx_int_t ngx_http_kefu_metrics_postconfiguration(ngx_conf_t *cf);
ngx_int_t ngx_http_kefu_metrics_init_process(ngx_cycle_t *cycle);
void ngx_http_kefu_metrics_exit_process(ngx_cycle_t *cycle);
void ngx_http_kefu_metrics_ask(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_uint_t type, u_char *faq_id,
    size_t faq_id_len, double confidence);

#endif /* NGX_HTTP_KEFU_MODULE_H */
