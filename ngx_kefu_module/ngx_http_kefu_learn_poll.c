/*
 * ngx_kefu: learned similar questions, the workers' poll.
 *
 * Every worker reads each tenant's version (kefu:{T}:learned:ver) every
 * kefu_stats_flush (one GET per tenant per tick) and, when it moved,
 * fetches the hash (one HGETALL) and builds the tenant's merged KB
 * (kefu_learn.c): the file KB with the learned questions as more
 * paraphrases, indexed exactly as a file holding them would be.  The
 * request path is unchanged: t->kb is the merged KB.  While Redis is
 * down the worker keeps what it has.  With learn_auto_adopt, the poll
 * also adopts the question pairs enough users tapped.
 *
 * The poll has no client request; the Redis adapter talks to requests,
 * so each poll carries a request-shaped object with its own pool (the
 * adapter only uses its pool, log and connection), destroyed when done.
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_dayunion.h"
#include "ngx_http_kefu_learn.h"
#include "kefu_learn.h"
#include "kefu_stats.h"


#define NGX_HTTP_KEFU_LEARN_AUTO_DAYS 7     /* tapped pairs summed */
#define NGX_HTTP_KEFU_LEARN_AUTO_MAX  20    /* pairs read per look */


typedef struct {
    ngx_connection_t                ident;      /* what event logs read */
    ngx_http_kefu_main_conf_t      *kmcf;
    ngx_event_t                     timer;
    uint64_t                        generation;
    ngx_log_t                      *log;
} ngx_http_kefu_learn_worker_t;


static ngx_http_kefu_learn_worker_t  ngx_http_kefu_learn_worker;


static void ngx_http_kefu_learn_tick(ngx_event_t *ev);
static void ngx_http_kefu_learn_poll(ngx_http_kefu_tenant_t *t);
static void ngx_http_kefu_learn_got_version(ngx_http_request_t *r,
    void *data, ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies,
    ngx_uint_t n);
static void ngx_http_kefu_learn_got_entries(ngx_http_request_t *r,
    void *data, ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies,
    ngx_uint_t n);
static ngx_int_t ngx_http_kefu_learn_apply(ngx_http_kefu_tenant_t *t,
    ngx_http_kefu_redis_reply_t *hash, int64_t version);
static void ngx_http_kefu_learn_next(ngx_http_request_t *r,
    ngx_http_kefu_tenant_t *t);
static ngx_int_t ngx_http_kefu_learn_auto(ngx_http_request_t *r,
    ngx_http_kefu_tenant_t *t);
static void ngx_http_kefu_learn_got_pairs(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static void ngx_http_kefu_learn_adopt(ngx_http_request_t *r,
    ngx_http_kefu_tenant_t *t, ngx_str_t *pair, ngx_int_t users,
    ngx_http_kefu_redis_reply_t *dismissed);
static ngx_int_t ngx_http_kefu_learn_time(ngx_pool_t *pool, time_t t,
    ngx_str_t *s);
static void ngx_http_kefu_learn_done(ngx_http_request_t *r,
    ngx_http_kefu_tenant_t *t);
static int ngx_http_kefu_learn_cmp(const void *a, const void *b);


ngx_int_t
ngx_http_kefu_learn_poll_init(ngx_cycle_t *cycle,
    ngx_http_kefu_main_conf_t *kmcf)
{
    ngx_uint_t                     i;
    ngx_http_kefu_learn_t         *l;
    ngx_http_kefu_tenant_t        *t;
    ngx_http_kefu_learn_worker_t  *w;

    w = &ngx_http_kefu_learn_worker;
    ngx_memzero(w, sizeof(ngx_http_kefu_learn_worker_t));

    w->kmcf = kmcf;
    w->log = cycle->log;

    t = kmcf->tenants.elts;

    for (i = 0; i < kmcf->tenants.nelts; i++) {
        l = ngx_pcalloc(cycle->pool, sizeof(ngx_http_kefu_learn_t));
        if (l == NULL) {
            return NGX_ERROR;
        }

        l->file_kb = t[i].kb;
        t[i].learn = l;
    }

    if (!ngx_http_kefu_redis_configured() || kmcf->tenants.nelts == 0
        || !kmcf->learned_poll)
    {
        return NGX_OK;
    }

    /* cancelable: nothing is lost when a stopping worker skips a look */
    w->timer.handler = ngx_http_kefu_learn_tick;
    w->timer.log = cycle->log;
    w->ident.fd = (ngx_socket_t) -1;
    w->timer.data = &w->ident;
    w->timer.cancelable = 1;

    ngx_add_timer(&w->timer, kmcf->stats_flush);

    return NGX_OK;
}


static void
ngx_http_kefu_learn_tick(ngx_event_t *ev)
{
    ngx_uint_t                     i;
    ngx_http_kefu_tenant_t        *t;
    ngx_http_kefu_learn_worker_t  *w = &ngx_http_kefu_learn_worker;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (ngx_http_kefu_redis_connected()) {
        t = w->kmcf->tenants.elts;

        for (i = 0; i < w->kmcf->tenants.nelts; i++) {
            ngx_http_kefu_learn_poll(&t[i]);
        }
    }

    ngx_add_timer(ev, w->kmcf->stats_flush);
}


/* A request-shaped carrier of one poll, with its own pool. */
static void
ngx_http_kefu_learn_poll(ngx_http_kefu_tenant_t *t)
{
    ngx_int_t                   rc;
    ngx_str_t                   keys[3], argv[2];
    ngx_pool_t                 *pool;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_kefu_learn_t      *l;
    ngx_http_kefu_redis_cmd_t   cmd;

    l = t->learn;

    if (l->busy) {
        return;
    }

    pool = ngx_create_pool(4096, ngx_http_kefu_learn_worker.log);
    if (pool == NULL) {
        return;
    }

    c = ngx_pcalloc(pool, sizeof(ngx_connection_t));
    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    if (c == NULL || r == NULL
        || ngx_http_kefu_learn_keys(pool, t, keys) != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return;
    }

    c->log = ngx_http_kefu_learn_worker.log;
    c->pool = pool;
    c->data = r;
    r->connection = c;
    r->pool = pool;
    r->main = r;

    ngx_str_set(&argv[0], "GET");
    argv[1] = keys[2];
    cmd.argc = 2;
    cmd.argv = argv;

    rc = ngx_http_kefu_redis_send(r, &cmd, 1,
                                  ngx_http_kefu_learn_got_version, t);
    if (rc != NGX_OK) {
        ngx_destroy_pool(pool);
        return;
    }

    l->busy = 1;
}


static void
ngx_http_kefu_learn_got_version(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    int64_t                      v;
    ngx_str_t                    keys[3], argv[2];
    ngx_http_kefu_learn_t       *l;
    ngx_http_kefu_tenant_t      *t = data;
    ngx_http_kefu_redis_cmd_t    cmd;
    ngx_http_kefu_redis_reply_t *rep;

    l = t->learn;

    if (rc != NGX_OK || n != 1) {
        ngx_http_kefu_learn_done(r, t);
        return;
    }

    rep = replies[0];

    if (rep->type == REDIS_REPLY_NIL) {
        v = 0;

    } else if (rep->type == REDIS_REPLY_STRING) {
        v = ngx_atoof(rep->str.data, rep->str.len);
        if (v < 0) {
            ngx_http_kefu_learn_next(r, t);
            return;
        }

    } else {
        ngx_http_kefu_learn_next(r, t);
        return;
    }

    if (v == l->version) {
        ngx_http_kefu_learn_next(r, t);
        return;
    }

    if (ngx_http_kefu_learn_keys(r->pool, t, keys) != NGX_OK) {
        ngx_http_kefu_learn_next(r, t);
        return;
    }

    l->fetching = v;

    ngx_str_set(&argv[0], "HGETALL");
    argv[1] = keys[0];
    cmd.argc = 2;
    cmd.argv = argv;

    if (ngx_http_kefu_redis_send(r, &cmd, 1, ngx_http_kefu_learn_got_entries,
                                 t)
        != NGX_OK)
    {
        ngx_http_kefu_learn_next(r, t);
    }
}


static void
ngx_http_kefu_learn_got_entries(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    ngx_http_kefu_tenant_t  *t = data;

    if (rc == NGX_OK && n == 1 && replies[0]->type == REDIS_REPLY_ARRAY) {
        if (ngx_http_kefu_learn_apply(t, replies[0],
                                      ((ngx_http_kefu_learn_t *) t->learn)
                                      ->fetching)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "kefu: learned questions of tenant \"%V\" not "
                          "applied, the previous ones stay", &t->name);
        }
    }

    ngx_http_kefu_learn_next(r, t);
}


/* The version step is over: auto-adoption's look, if on, or the end. */
static void
ngx_http_kefu_learn_next(ngx_http_request_t *r, ngx_http_kefu_tenant_t *t)
{
    if (t->learn_auto_adopt && ngx_http_kefu_learn_auto(r, t) == NGX_OK) {
        return;
    }

    ngx_http_kefu_learn_done(r, t);
}


/*
 * learn_auto_adopt: the tapped pairs of the last 7 days (kefu:{t}:d:DAY:p,
 * one user counted once per pair by the ask turn's script) summed into a
 * temporary key of the tenant's slot (ngx_http_kefu_dayunion), the 20
 * seen by most users, and the dismissed questions: one pipelined round
 * trip.
 */
static ngx_int_t
ngx_http_kefu_learn_auto(ngx_http_request_t *r, ngx_http_kefu_tenant_t *t)
{
    ngx_str_t                   *a, tmp;
    ngx_uint_t                   k;
    ngx_http_kefu_ctx_t          ctx;
    ngx_http_kefu_dayunion_t     du;
    ngx_http_kefu_redis_cmd_t    cmds[5];

    a = ngx_pcalloc(r->pool, (3 + NGX_HTTP_KEFU_LEARN_AUTO_DAYS + 3 + 5 + 2
                              + 4) * sizeof(ngx_str_t));
    if (a == NULL || ngx_http_kefu_random_id(r, 8, &du.id) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the key helpers read only the request's pool and the tenant */
    ngx_memzero(&ctx, sizeof(ngx_http_kefu_ctx_t));
    ctx.tenant = t;

    du.now = ngx_time();
    du.days = NGX_HTTP_KEFU_LEARN_AUTO_DAYS;
    du.top = NGX_HTTP_KEFU_LEARN_AUTO_MAX;
    du.what = "auto";

    if (ngx_http_kefu_dayunion(r, &ctx, &du, ":p", cmds, a, &tmp) != NGX_OK)
    {
        return NGX_ERROR;
    }

    k = 3 + NGX_HTTP_KEFU_LEARN_AUTO_DAYS + 3 + 5;

    ngx_str_set(&a[k], "DEL");
    a[k + 1] = tmp;
    cmds[3].argc = 2;
    cmds[3].argv = &a[k];
    k += 2;

    /* a question the trainer dismissed (or deleted once adopted) stays
     * out while the dismissal lasts */
    ngx_str_set(&a[k], "ZRANGEBYSCORE");

    if (ngx_http_kefu_tenant_key_in(r->pool, &t->name, "kb:dismissed",
                                    &a[k + 1])
        != NGX_OK
        || ngx_http_kefu_learn_time(r->pool, du.now, &a[k + 2]) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&a[k + 3], "+inf");
    cmds[4].argc = 4;
    cmds[4].argv = &a[k];

    return ngx_http_kefu_redis_send(r, cmds, 5, ngx_http_kefu_learn_got_pairs,
                                    t);
}


static void
ngx_http_kefu_learn_got_pairs(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    ngx_int_t                     users;
    ngx_uint_t                    i;
    ngx_http_kefu_tenant_t       *t = data;
    ngx_http_kefu_redis_reply_t  *pairs, *dismissed;

    if (rc != NGX_OK || n != 5) {
        ngx_http_kefu_learn_done(r, t);
        return;
    }

    pairs = replies[2];
    dismissed = replies[4];

    if (pairs->type == REDIS_REPLY_ARRAY
        && dismissed->type == REDIS_REPLY_ARRAY)
    {
        for (i = 0; i + 1 < pairs->elements; i += 2) {
            if (pairs->element[i]->type != REDIS_REPLY_STRING
                || pairs->element[i + 1]->type != REDIS_REPLY_STRING)
            {
                continue;
            }

            users = ngx_atoi(pairs->element[i + 1]->str.data,
                             pairs->element[i + 1]->str.len);
            if (users == NGX_ERROR) {
                continue;
            }

            ngx_http_kefu_learn_adopt(r, t, &pairs->element[i]->str, users,
                                      dismissed);
        }
    }

    ngx_http_kefu_learn_done(r, t);
}


/*
 * One pair "faq_id TAB question": stored, when kefu_learn_auto_pick()
 * takes it, by the admin API's script (a duplicate key is refused there,
 * so workers adopting at once store it once), which also marks it
 * dismissed so that a trainer's delete is not undone at the next look.
 * Fire and forget: a pair that did not make it is seen again next time.
 */
static void
ngx_http_kefu_learn_adopt(ngx_http_request_t *r, ngx_http_kefu_tenant_t *t,
    ngx_str_t *pair, ngx_int_t users, ngx_http_kefu_redis_reply_t *dismissed)
{
    long                         faq;
    u_char                       key16[16];
    ngx_str_t                    a[7], argv[12], faq_id, q, id;
    ngx_uint_t                   i;
    kefu_str_t                   lq;
    kefu_alloc_t                 alloc;
    ngx_http_kefu_main_conf_t   *kmcf;
    ngx_http_kefu_redis_reply_t *d;

    kmcf = ngx_http_kefu_learn_worker.kmcf;

    if (kmcf->scratch == NULL) {
        return;
    }

    faq = kefu_learn_auto_pick(t->kb, kmcf->scratch, pair->data, pair->len,
                               (uint64_t) users, t->learn_min_users, &lq);
    if (faq < 0) {
        return;
    }

    q.data = lq.data;
    q.len = lq.len;

    for (i = 0; i < dismissed->elements; i++) {
        d = dismissed->element[i];

        if (d->type == REDIS_REPLY_STRING && d->str.len == q.len
            && ngx_memcmp(d->str.data, q.data, q.len) == 0)
        {
            return;
        }
    }

    alloc.alloc = ngx_http_kefu_pool_alloc;
    alloc.ctx = r->pool;
    faq_id.data = t->kb->faqs[faq].id.data;
    faq_id.len = t->kb->faqs[faq].id.len;

    if (kefu_learn_key(&alloc, t->kb->syn, q.data, q.len, key16) != KEFU_OK
        || ngx_http_kefu_learn_argv(r, t, &faq_id, &q, key16,
                                    kmcf->learned_max, a, &id)
           != NGX_OK)
    {
        return;
    }

    /* KEYS[4] and ARGV[5..8]: marked dismissed as the dismiss does */
    argv[0] = a[0];
    argv[1] = a[1];
    argv[2] = a[2];

    if (ngx_http_kefu_tenant_key_in(r->pool, &t->name, "kb:dismissed",
                                    &argv[3])
        != NGX_OK
        || ngx_http_kefu_learn_time(r->pool, ngx_time(), &argv[8]) != NGX_OK
        || ngx_http_kefu_learn_time(r->pool,
                                    ngx_time() + NGX_HTTP_KEFU_DISMISS_TTL,
                                    &argv[9])
           != NGX_OK)
    {
        return;
    }

    argv[4] = a[3];
    argv[5] = a[4];
    argv[6] = a[5];
    argv[7] = a[6];
    argv[10] = q;
    ngx_str_set(&argv[11], NGX_HTTP_KEFU_DISMISS_MAX);

    if (ngx_http_kefu_redis_eval_detached(kmcf->learn_scripts[0], 4, 12,
                                          argv)
        == NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "kefu: tenant \"%V\": adopting \"%V\" for faq \"%V\" "
                      "(%i users)", &t->name, &q, &faq_id, users);
    }
}


static ngx_int_t
ngx_http_kefu_learn_time(ngx_pool_t *pool, time_t t, ngx_str_t *s)
{
    s->data = ngx_pnalloc(pool, NGX_TIME_T_LEN);
    if (s->data == NULL) {
        return NGX_ERROR;
    }

    s->len = ngx_sprintf(s->data, "%T", t) - s->data;

    return NGX_OK;
}


static void
ngx_http_kefu_learn_done(ngx_http_request_t *r, ngx_http_kefu_tenant_t *t)
{
    ((ngx_http_kefu_learn_t *) t->learn)->busy = 0;
    ngx_destroy_pool(r->pool);
}


/* Builds the merged KB of the fetched hash and makes it the tenant's. */
static ngx_int_t
ngx_http_kefu_learn_apply(ngx_http_kefu_tenant_t *t,
    ngx_http_kefu_redis_reply_t *hash, int64_t version)
{
    u_char                        *p, *tab1, *tab2, *end;
    size_t                         len;
    uint32_t                       ndocs;
    ngx_uint_t                     i, j, m;
    kefu_kb_t                     *kb;
    ngx_pool_t                    *pool;
    kefu_alloc_t                   alloc;
    unsigned char                 *kept;
    kefu_learned_t                *ll;
    ngx_http_kefu_learn_t         *l;
    ngx_http_kefu_main_conf_t     *kmcf;
    ngx_http_kefu_learn_entry_t   *e;
    ngx_http_kefu_redis_reply_t   *k, *v;
    ngx_http_kefu_learn_worker_t  *w;

    w = &ngx_http_kefu_learn_worker;
    l = t->learn;
    kmcf = w->kmcf;

    pool = ngx_create_pool(16384, w->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    m = hash->elements / 2;
    e = ngx_pcalloc(pool, (m + 1) * sizeof(ngx_http_kefu_learn_entry_t));
    ll = ngx_palloc(pool, (m + 1) * sizeof(kefu_learned_t));
    kept = ngx_palloc(pool, m + 1);
    if (e == NULL || ll == NULL || kept == NULL) {
        goto failed;
    }

    m = 0;

    for (i = 0; i + 1 < hash->elements; i += 2) {
        k = hash->element[i];
        v = hash->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            continue;
        }

        p = v->str.data;
        end = p + v->str.len;
        tab1 = ngx_strlchr(p, end, '\t');
        tab2 = tab1 ? ngx_strlchr(tab1 + 1, end, '\t') : NULL;
        if (tab2 == NULL) {
            continue;
        }

        /* copied: the replies go with the poll's pool */
        len = v->str.len + k->str.len;
        p = ngx_pnalloc(pool, len);
        if (p == NULL) {
            goto failed;
        }

        e[m].id.data = p;
        e[m].id.len = k->str.len;
        p = ngx_cpymem(p, k->str.data, k->str.len);
        e[m].faq_id.data = p;
        e[m].faq_id.len = tab1 - v->str.data;
        p = ngx_cpymem(p, v->str.data, e[m].faq_id.len);
        e[m].question.data = p;
        e[m].question.len = end - tab2 - 1;
        ngx_memcpy(p, tab2 + 1, e[m].question.len);

        e[m].faq = kefu_kb_find(l->file_kb, e[m].faq_id.data,
                                e[m].faq_id.len);
        m++;
    }

    /* ids start with their creation time: the order they were added */
    ngx_qsort(e, m, sizeof(ngx_http_kefu_learn_entry_t),
              ngx_http_kefu_learn_cmp);

    for (i = 0, j = 0; i < m; i++) {
        /* an FAQ the file no longer has: kept, not indexed */
        ll[i].faq = e[i].faq >= 0 ? (uint32_t) e[i].faq : 0xffffffffu;
        ll[i].text = e[i].question.data;
        ll[i].len = e[i].question.len;
        ll[i].known = 0;

        /* the file KB never changes in a worker: what the last build
         * found out about an entry (both lists sorted by id) holds */
        while (j < l->n
               && ngx_memn2cmp(l->entries[j].id.data, e[i].id.data,
                               l->entries[j].id.len, e[i].id.len) < 0)
        {
            j++;
        }

        if (j < l->n && l->entries[j].id.len == e[i].id.len
            && ngx_memcmp(l->entries[j].id.data, e[i].id.data,
                          e[i].id.len) == 0
            && l->entries[j].faq == e[i].faq)
        {
            ll[i].known = l->entries[j].kept ? 1 : 2;
        }
    }

    alloc.alloc = ngx_http_kefu_pool_alloc;
    alloc.ctx = pool;

    if (m == 0) {
        kb = l->file_kb;

    } else {
        kb = kefu_kb_merge(&alloc, l->file_kb, ll, m, ++w->generation, kept);
        if (kb == NULL) {
            goto failed;
        }

        for (i = 0; i < m; i++) {
            e[i].kept = kept[i];
        }
    }

    ndocs = kefu_kb_ndocs(kb);

    if (kmcf->scratch != NULL
        && ndocs > kefu_search_scratch_capacity(kmcf->scratch))
    {
        /* grows by half at least: a few rebuilds, not one per addition */
        alloc.ctx = ngx_cycle->pool;
        kmcf->scratch = kefu_search_scratch_create(&alloc,
                                                   ndocs + ndocs / 2);
        if (kmcf->scratch == NULL) {
            ngx_log_error(NGX_LOG_EMERG, w->log, 0,
                          "kefu: no memory for the search scratch");
            ngx_destroy_pool(pool);
            return NGX_ERROR;
        }
    }

    /* a request may still hold strings of the last generation */
    if (l->old != NULL) {
        ngx_destroy_pool(l->old);
    }

    l->old = l->pool;
    l->pool = pool;
    l->entries = e;
    l->n = m;
    l->version = version;
    t->kb = kb;

    ngx_log_error(NGX_LOG_INFO, w->log, 0,
                  "kefu: tenant \"%V\": %ui learned questions (version %L)",
                  &t->name, m, version);

    return NGX_OK;

failed:

    ngx_destroy_pool(pool);

    return NGX_ERROR;
}


static int
ngx_http_kefu_learn_cmp(const void *a, const void *b)
{
    const ngx_http_kefu_learn_entry_t  *x = a, *y = b;
    ngx_int_t                           c;

    c = ngx_memn2cmp(x->id.data, y->id.data, x->id.len, y->id.len);

    return c < 0 ? -1 : (c > 0);
}
