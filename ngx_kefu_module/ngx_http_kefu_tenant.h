/*
 * ngx_kefu: the `kefu_tenant NAME { ... }` block and tenant lookup.
 */

#ifndef NGX_HTTP_KEFU_TENANT_H
#define NGX_HTTP_KEFU_TENANT_H

#include "ngx_http_kefu_module.h"


char *ngx_http_kefu_tenant_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_kefu_tenants_init(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf);
ngx_int_t ngx_http_kefu_tenants_init_process(ngx_cycle_t *cycle,
    ngx_http_kefu_main_conf_t *kmcf);
ngx_http_kefu_tenant_t *ngx_http_kefu_find_tenant(
    ngx_http_kefu_main_conf_t *kmcf, u_char *name, size_t len);

#endif /* NGX_HTTP_KEFU_TENANT_H */
