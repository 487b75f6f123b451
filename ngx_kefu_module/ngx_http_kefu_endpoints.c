/*
 * ngx_kefu: the one list of endpoint descriptors (ngx_http_kefu_endpoints.h).
 * A new endpoint file adds its descriptor here and nowhere else.
 */

#include "ngx_http_kefu_endpoints.h"


extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_status_endpoint;
extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_ask_endpoint;
extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_search_endpoint;
extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_suggest_endpoint;
extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_events_endpoint;
extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_report_endpoint;
extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_backoffice_endpoint;
extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_service_endpoint;
extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_stats_endpoint;
extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_learn_endpoint;
extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_kbsuggest_endpoint;
extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_tally_endpoint;
extern const ngx_http_kefu_endpoint_t  ngx_http_kefu_sessions_endpoint;


/* worker hooks run in this order; exit hooks too */
const ngx_http_kefu_endpoint_t  *ngx_http_kefu_endpoints[] = {
    &ngx_http_kefu_status_endpoint,         /* health, whoami */
    &ngx_http_kefu_ask_endpoint,
    &ngx_http_kefu_search_endpoint,         /* admin/search */
    &ngx_http_kefu_suggest_endpoint,        /* suggestions */
    &ngx_http_kefu_events_endpoint,
    &ngx_http_kefu_report_endpoint,         /* loss-reports */
    &ngx_http_kefu_backoffice_endpoint,     /* admin lists, tickets */
    &ngx_http_kefu_service_endpoint,        /* handoff, feedback */
    &ngx_http_kefu_stats_endpoint,          /* admin/stats */
    &ngx_http_kefu_learn_endpoint,          /* admin/kb/similar, export */
    &ngx_http_kefu_kbsuggest_endpoint,      /* admin/kb/suggestions */
    &ngx_http_kefu_tally_endpoint,          /* the counter sums */
    &ngx_http_kefu_sessions_endpoint,       /* the session copies */
    NULL
};
