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
 * Direct-mapped: a session replaces whichever shared its slot.  All
 * the copies live in one block, SLOTS entries of ENTRY bytes (a header,
 * the key, the value), allocated and written in init_process: the
 * worker's memory for them is resident and fixed from its start, and a
 * turn neither allocates nor frees.  A session whose key and value do
 * not fit an entry is not kept (its next turn reads it first); the
 * sizes come from the sessions /v1/ask writes (README, "What a worker
 * holds"): SLOTS * ENTRY = 8 MiB a worker.
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_sessions.h"


#define NGX_HTTP_KEFU_SESSIONS_SLOTS  8192      /* 2^n */
#define NGX_HTTP_KEFU_SESSIONS_ENTRY  1024      /* bytes, header included */


typedef struct {
    uint32_t           hash;
    uint16_t           key_len;     /* 0: empty */
    uint16_t           value_len;
    u_char             data[1];     /* key, then value */
} ngx_http_kefu_sessions_entry_t;


#define NGX_HTTP_KEFU_SESSIONS_DATA                                           \
    (NGX_HTTP_KEFU_SESSIONS_ENTRY                                             \
     - offsetof(ngx_http_kefu_sessions_entry_t, data))


typedef struct {
    u_char            *block;       /* SLOTS entries */
} ngx_http_kefu_sessions_t;


static ngx_int_t ngx_http_kefu_sessions_init_process(ngx_cycle_t *cycle,
    ngx_http_kefu_main_conf_t *kmcf);
static void ngx_http_kefu_sessions_exit_process(ngx_cycle_t *cycle);
static ngx_http_kefu_sessions_entry_t *ngx_http_kefu_sessions_find(
    ngx_str_t *key);
static ngx_http_kefu_sessions_entry_t *ngx_http_kefu_sessions_slot(
    ngx_str_t *key, uint32_t *hash);


/* the worker's copies */
static ngx_http_kefu_sessions_t  ngx_http_kefu_sessions;


const ngx_http_kefu_endpoint_t  ngx_http_kefu_sessions_endpoint = {
    NULL, NULL, 0, NULL,
    ngx_http_kefu_sessions_init_process,
    ngx_http_kefu_sessions_exit_process
};


static ngx_int_t
ngx_http_kefu_sessions_init_process(ngx_cycle_t *cycle,
    ngx_http_kefu_main_conf_t *kmcf)
{
    size_t                     size;
    ngx_http_kefu_sessions_t  *ss;

    /* cache manager and loader processes serve no requests */
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    ss = &ngx_http_kefu_sessions;

    size = (size_t) NGX_HTTP_KEFU_SESSIONS_SLOTS
           * NGX_HTTP_KEFU_SESSIONS_ENTRY;

    ss->block = ngx_alloc(size, cycle->log);
    if (ss->block == NULL) {
        return NGX_ERROR;
    }

    /* written, not calloc()ed: every page resident now, so the worker's
     * RSS does not grow as the slots fill */
    ngx_memset(ss->block, 0, size);

    return NGX_OK;
}


static void
ngx_http_kefu_sessions_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_kefu_sessions_t  *ss;

    ss = &ngx_http_kefu_sessions;

    if (ss->block != NULL) {
        ngx_free(ss->block);
        ss->block = NULL;
    }
}


/* The worker's copy of key's value, in pool; NGX_DECLINED if none. */

ngx_int_t
ngx_http_kefu_sessions_get(ngx_pool_t *pool, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_http_kefu_sessions_entry_t  *e;

    e = ngx_http_kefu_sessions_find(key);
    if (e == NULL) {
        return NGX_DECLINED;
    }

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
    uint32_t                         hash;
    ngx_http_kefu_sessions_entry_t  *e;

    e = ngx_http_kefu_sessions_slot(key, &hash);
    if (e == NULL) {
        return;
    }

    if (key->len == 0
        || key->len + value->len > NGX_HTTP_KEFU_SESSIONS_DATA)
    {
        /* not kept; an older copy of this session would be stale */
        if (e->key_len == key->len && e->hash == hash
            && ngx_memcmp(e->data, key->data, key->len) == 0)
        {
            e->key_len = 0;
        }

        return;
    }

    e->hash = hash;
    e->key_len = (uint16_t) key->len;
    e->value_len = (uint16_t) value->len;
    ngx_memcpy(e->data, key->data, key->len);
    ngx_memcpy(e->data + key->len, value->data, value->len);
}


/* Forgets key's copy (Redis did not confirm what we hold). */

void
ngx_http_kefu_sessions_drop(ngx_str_t *key)
{
    ngx_http_kefu_sessions_entry_t  *e;

    e = ngx_http_kefu_sessions_find(key);

    if (e != NULL) {
        e->key_len = 0;
    }
}


/* key's entry when it holds key's copy, else NULL */
static ngx_http_kefu_sessions_entry_t *
ngx_http_kefu_sessions_find(ngx_str_t *key)
{
    uint32_t                         hash;
    ngx_http_kefu_sessions_entry_t  *e;

    e = ngx_http_kefu_sessions_slot(key, &hash);

    if (e == NULL || e->key_len == 0 || e->key_len != key->len
        || e->hash != hash
        || ngx_memcmp(e->data, key->data, key->len) != 0)
    {
        return NULL;
    }

    return e;
}


static ngx_http_kefu_sessions_entry_t *
ngx_http_kefu_sessions_slot(ngx_str_t *key, uint32_t *hash)
{
    if (ngx_http_kefu_sessions.block == NULL) {
        return NULL;
    }

    *hash = ngx_murmur_hash2(key->data, key->len);

    return (ngx_http_kefu_sessions_entry_t *)
               (ngx_http_kefu_sessions.block
                + (size_t) (*hash & (NGX_HTTP_KEFU_SESSIONS_SLOTS - 1))
                  * NGX_HTTP_KEFU_SESSIONS_ENTRY);
}
