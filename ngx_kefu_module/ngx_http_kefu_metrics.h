/*
 * ngx_kefu: Prometheus metrics and the $kefu_* variables
 * (ngx_http_kefu_metrics.c).
 */

#ifndef NGX_HTTP_KEFU_METRICS_H
#define NGX_HTTP_KEFU_METRICS_H

#include "ngx_http_kefu_module.h"


char *ngx_http_kefu_metrics_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_kefu_metrics_zone_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_kefu_metrics_preconfiguration(ngx_conf_t *cf);
ngx_int_t ngx_http_kefu_metrics_postconfiguration(ngx_conf_t *cf);
ngx_int_t ngx_http_kefu_metrics_init_process(ngx_cycle_t *cycle);
void ngx_http_kefu_metrics_exit_process(ngx_cycle_t *cycle);

/* the /v1/ask hook: counts the reply and keeps it for the variables */
void ngx_http_kefu_metrics_ask(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_uint_t type, u_char *faq_id,
    size_t faq_id_len, double confidence);

#endif /* NGX_HTTP_KEFU_METRICS_H */
