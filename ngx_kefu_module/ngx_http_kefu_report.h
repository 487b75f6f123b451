/*
 * ngx_kefu: loss reports (ngx_http_kefu_report.c): the directive
 * kefu_report_replicas, and the reports' indexes the back office lists.
 */

#ifndef NGX_HTTP_KEFU_REPORT_H
#define NGX_HTTP_KEFU_REPORT_H

#include "ngx_http_kefu_module.h"
#include "kefu_report.h"


char *ngx_http_kefu_report_replicas(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* the loss reports' indexes for the back office's list, newest last:
 * members are "%012T.ID" */
#define NGX_HTTP_KEFU_LR_MEMBER_LEN  (12 + 1 + NGX_HTTP_KEFU_ID_LEN)

ngx_int_t ngx_http_kefu_lr_index_member(ngx_http_request_t *r,
    time_t created, ngx_str_t *id, ngx_str_t *member);

#endif /* NGX_HTTP_KEFU_REPORT_H */
