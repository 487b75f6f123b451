/*
 * ngx_kefu: the worker's copies of the dialogue sessions it last wrote.
 *
 * A client keeps a conversation on one connection (HTTP/2 from the app,
 * or HTTP/1.1 keep-alive), so the next turn of a session usually comes
 * to the worker that wrote the previous one.  With the value it wrote
 * at hand, /v1/ask skips reading the session: its write is a
 * compare-and-set against that value, which Redis refuses (handing back
 * the current value) when another worker or an expiry changed it in
 * between.  A copy is therefore only ever a guess, never an authority.
 *
 * Direct-mapped: a session replaces whichever shared its slot.  Each
 * entry is one ngx_alloc()ed block with the key and the value.
 */

#include "ngx_http_kefu_module.h"


#define NGX_HTTP_KEFU_SESSIONS_SLOTS  8192      /* 2^n */
#define NGX_HTTP_KEFU_SESSIONS_MAX    4096      /* larger values not kept */


typedef struct {
    uint32_t           hash;
    uint32_t           key_len;
    uint32_t           value_len;
    uint32_t           cap;         /* bytes of data */
    u_char             data[1];     /* key, then value */
} ngx_http_kefu_sessions_entry_t;


typedef struct {
    ngx_http_kefu_sessions_entry_t  **slots;
    ngx_log_t                        *log;
} ngx_http_kefu_sessions_t;


static ngx_http_kefu_sessions_entry_t **ngx_http_kefu_sessions_find(
    ngx_str_t *key);
static ngx_http_kefu_sessions_entry_t **ngx_http_kefu_sessions_slot(
    ngx_str_t *key, uint32_t *hash);


/* the worker's copies */
static ngx_http_kefu_sessions_t  ngx_http_kefu_sessions;


ngx_int_t
ngx_http_kefu_sessions_init_process(ngx_cycle_t *cycle)
{
    ngx_http_kefu_sessions_t  *ss;

    ss = &ngx_http_kefu_sessions;

    ss->log = cycle->log;
    ss->slots = ngx_calloc(NGX_HTTP_KEFU_SESSIONS_SLOTS
                           * sizeof(ngx_http_kefu_sessions_entry_t *),
                           cycle->log);

    return ss->slots ? NGX_OK : NGX_ERROR;
}


void
ngx_http_kefu_sessions_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                 i;
    ngx_http_kefu_sessions_t  *ss;

    ss = &ngx_http_kefu_sessions;

    if (ss->slots == NULL) {
        return;
    }

    for (i = 0; i < NGX_HTTP_KEFU_SESSIONS_SLOTS; i++) {
        if (ss->slots[i]) {
            ngx_free(ss->slots[i]);
        }
    }

    ngx_free(ss->slots);
    ss->slots = NULL;
}


/* The worker's copy of key's value, in pool; NGX_DECLINED if none. */

ngx_int_t
ngx_http_kefu_sessions_get(ngx_pool_t *pool, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_http_kefu_sessions_entry_t  **slot, *e;

    slot = ngx_http_kefu_sessions_find(key);
    if (slot == NULL) {
        return NGX_DECLINED;
    }

    e = *slot;

    /* a copy: the slot may change while the request waits for Redis */
    value->len = e->value_len;
    value->data = ngx_pnalloc(pool, e->value_len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(value->data, e->data + e->key_len, e->value_len);

    return NGX_OK;
}


/* Keeps value as key's, confirmed by Redis; a failure only costs a read. */

void
ngx_http_kefu_sessions_put(ngx_str_t *key, ngx_str_t *value)
{
    size_t                            len, cap;
    uint32_t                          hash;
    ngx_http_kefu_sessions_entry_t  **slot, *e;

    slot = ngx_http_kefu_sessions_slot(key, &hash);
    if (slot == NULL) {
        return;
    }

    e = *slot;
    len = key->len + value->len;

    if (e != NULL && (len > e->cap || len > NGX_HTTP_KEFU_SESSIONS_MAX)) {
        ngx_free(e);
        e = NULL;
        *slot = NULL;
    }

    if (len > NGX_HTTP_KEFU_SESSIONS_MAX) {
        return;
    }

    if (e == NULL) {
        /* room for what usually comes next: the session grows a little
         * with every turn */
        cap = ngx_min(len + 256, NGX_HTTP_KEFU_SESSIONS_MAX);

        e = ngx_alloc(offsetof(ngx_http_kefu_sessions_entry_t, data) + cap,
                      ngx_http_kefu_sessions.log);
        if (e == NULL) {
            return;
        }

        e->cap = (uint32_t) cap;
        *slot = e;
    }

    e->hash = hash;
    e->key_len = (uint32_t) key->len;
    e->value_len = (uint32_t) value->len;
    ngx_memcpy(e->data, key->data, key->len);
    ngx_memcpy(e->data + key->len, value->data, value->len);
}


/* Forgets key's copy (Redis did not confirm what we hold). */

void
ngx_http_kefu_sessions_drop(ngx_str_t *key)
{
    ngx_http_kefu_sessions_entry_t  **slot;

    slot = ngx_http_kefu_sessions_find(key);

    if (slot != NULL) {
        ngx_free(*slot);
        *slot = NULL;
    }
}


/* key's slot when it holds key's copy, else NULL */
static ngx_http_kefu_sessions_entry_t **
ngx_http_kefu_sessions_find(ngx_str_t *key)
{
    uint32_t                          hash;
    ngx_http_kefu_sessions_entry_t  **slot, *e;

    slot = ngx_http_kefu_sessions_slot(key, &hash);
    if (slot == NULL || *slot == NULL) {
        return NULL;
    }

    e = *slot;

    if (e->hash != hash || e->key_len != key->len
        || ngx_memcmp(e->data, key->data, key->len) != 0)
    {
        return NULL;
    }

    return slot;
}


static ngx_http_kefu_sessions_entry_t **
ngx_http_kefu_sessions_slot(ngx_str_t *key, uint32_t *hash)
{
    if (ngx_http_kefu_sessions.slots == NULL) {
        return NULL;
    }

    *hash = ngx_murmur_hash2(key->data, key->len);

    return &ngx_http_kefu_sessions.slots[*hash
                                         & (NGX_HTTP_KEFU_SESSIONS_SLOTS - 1)];
}
