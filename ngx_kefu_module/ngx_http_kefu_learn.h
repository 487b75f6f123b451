/*
 * ngx_kefu: learned similar questions, what the admin API
 * (ngx_http_kefu_learn.c) and the workers' poll (ngx_http_kefu_learn_poll.c)
 * share: a tenant's learned state in a worker, the keys and the storing
 * script's arguments.
 */

#ifndef NGX_HTTP_KEFU_LEARN_H
#define NGX_HTTP_KEFU_LEARN_H

#include "ngx_http_kefu_module.h"


typedef struct {
    ngx_str_t                   id;
    ngx_str_t                   faq_id;
    ngx_str_t                   question;
    long                        faq;        /* -1: FAQ not in the file */
    unsigned                    kept:1;     /* in the merged index */
} ngx_http_kefu_learn_entry_t;


typedef struct {
    kefu_kb_t                      *file_kb;
    ngx_pool_t                     *pool;       /* merged KB, entries */
    ngx_pool_t                     *old;        /* the generation before */
    int64_t                         version;    /* applied */
    int64_t                         fetching;   /* version being fetched */
    ngx_http_kefu_learn_entry_t    *entries;    /* sorted by id */
    ngx_uint_t                      n;
    unsigned                        busy:1;     /* a poll in flight */
} ngx_http_kefu_learn_t;


/* keys[0] learned, keys[1] learned:keys, keys[2] learned:ver of t */
ngx_int_t ngx_http_kefu_learn_keys(ngx_pool_t *pool,
    ngx_http_kefu_tenant_t *t, ngx_str_t *keys);

/* argv[0..6] of the storing script (learn_scripts[0]); *id the new id */
ngx_int_t ngx_http_kefu_learn_argv(ngx_http_request_t *r,
    ngx_http_kefu_tenant_t *t, ngx_str_t *faq_id, ngx_str_t *q,
    u_char *key16, ngx_uint_t max, ngx_str_t *argv, ngx_str_t *id);

/* the learn endpoint's init_process: each tenant's state, the poll */
ngx_int_t ngx_http_kefu_learn_poll_init(ngx_cycle_t *cycle,
    ngx_http_kefu_main_conf_t *kmcf);

#endif /* NGX_HTTP_KEFU_LEARN_H */
