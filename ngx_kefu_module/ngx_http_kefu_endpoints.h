/*
 * ngx_kefu: what an endpoint file plugs in, and the list of them.
 *
 * Each endpoint file exports one descriptor: its routes, its Redis
 * scripts and its hooks.  The router (ngx_http_kefu_handler.c) and the
 * module's configuration and worker start (ngx_http_kefu_module.c) walk
 * ngx_http_kefu_endpoints[] and know no endpoint by name.
 */

#ifndef NGX_HTTP_KEFU_ENDPOINTS_H
#define NGX_HTTP_KEFU_ENDPOINTS_H

#include "ngx_http_kefu_module.h"


typedef struct {
    /* ends with a null path; NULL for a part without routes (the
     * counter sums, the session copies) */
    ngx_http_kefu_route_t          *routes;

    /* the generated ngx_http_kefu_script_NAME it runs, NULL-terminated,
     * registered for it at configuration; their ids are stored in the
     * main conf's ngx_int_t array at offset script_ids, in this order */
    const ngx_http_kefu_lua_t *const *scripts;
    size_t                          script_ids;

    /* after its scripts, before the tenants are loaded: defaults of its
     * kefu_* main directives */
    char                         *(*init_conf)(ngx_conf_t *cf,
                                      ngx_http_kefu_main_conf_t *kmcf);
    /* after the Redis client started; exit: before it stops */
    ngx_int_t                     (*init_process)(ngx_cycle_t *cycle,
                                      ngx_http_kefu_main_conf_t *kmcf);
    void                          (*exit_process)(ngx_cycle_t *cycle);
} ngx_http_kefu_endpoint_t;


/* ngx_http_kefu_endpoints.c: every descriptor, NULL-terminated */
extern const ngx_http_kefu_endpoint_t  *ngx_http_kefu_endpoints[];

#endif /* NGX_HTTP_KEFU_ENDPOINTS_H */
