/*
 * ngx_kefu: learned similar questions (issue 13), the admin API:
 * POST/GET /v1/admin/kb/similar, DELETE /v1/admin/kb/similar/{id},
 * GET /v1/admin/kb/export.
 *
 * A change is one script, all keys under the tenant's hash tag:
 *
 *     kefu:{T}:learned        hash  id -> "faq_id \t key \t question"
 *     kefu:{T}:learned:keys   hash  normalised-wording key -> id
 *     kefu:{T}:learned:ver    integer, bumped by every change
 *
 * The workers pick changes up with their poll (ngx_http_kefu_learn_poll.c);
 * the list is read from the worker's copy.
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_scripts.h"
#include "ngx_http_kefu_learn.h"
#include "kefu_learn.h"


#define NGX_HTTP_KEFU_LEARN_ID_LEN    21    /* 13 ms digits + 8 hex */
#define NGX_HTTP_KEFU_LEARN_LIST_MAX  500


static char *ngx_http_kefu_learn_init_conf(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf);
static ngx_int_t ngx_http_kefu_admin_similar(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_admin_similar_delete(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_admin_kb_export(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_learn_add(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static void ngx_http_kefu_learn_added(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_learn_list(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static void ngx_http_kefu_learn_deleted(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);


#define ngx_http_kefu_learn_idch(c)                                          \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'f'))


/* kmcf->learn_scripts[] */
static const ngx_http_kefu_lua_t  *const ngx_http_kefu_learn_scripts[] = {
    &ngx_http_kefu_script_learned_add,
    &ngx_http_kefu_script_learned_delete,
    NULL
};


static ngx_http_kefu_route_t  ngx_http_kefu_learn_routes[] = {
    { ngx_string("admin/kb/similar"), NGX_HTTP_GET|NGX_HTTP_POST,
      ngx_http_kefu_admin_similar, 1, 1, 0 },
    { ngx_string("admin/kb/similar/"), NGX_HTTP_DELETE,
      ngx_http_kefu_admin_similar_delete, 1, 1, 1 },
    { ngx_string("admin/kb/export"), NGX_HTTP_GET,
      ngx_http_kefu_admin_kb_export, 1, 1, 0 },
    { ngx_null_string, 0, NULL, 0, 0, 0 }
};


const ngx_http_kefu_endpoint_t  ngx_http_kefu_learn_endpoint = {
    ngx_http_kefu_learn_routes,
    ngx_http_kefu_learn_scripts,
    offsetof(ngx_http_kefu_main_conf_t, learn_scripts),
    ngx_http_kefu_learn_init_conf,
    ngx_http_kefu_learn_poll_init,
    NULL
};


static char *
ngx_http_kefu_learn_init_conf(ngx_conf_t *cf,
    ngx_http_kefu_main_conf_t *kmcf)
{
    ngx_conf_init_uint_value(kmcf->learned_max, 10000);
    ngx_conf_init_value(kmcf->learned_poll, 1);

    return NGX_CONF_OK;
}


/* keys[0] learned, keys[1] learned:keys, keys[2] learned:ver */
ngx_int_t
ngx_http_kefu_learn_keys(ngx_pool_t *pool, ngx_http_kefu_tenant_t *t,
    ngx_str_t *keys)
{
    ngx_uint_t                  i;
    static const char          *suffix[] = { "learned", "learned:keys",
                                             "learned:ver" };

    for (i = 0; i < 3; i++) {
        if (ngx_http_kefu_tenant_key_in(pool, &t->name, suffix[i], &keys[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The storing script's arguments (learn_scripts[0]) for question q of
 * the FAQ faq_id with normalised key key16: KEYS learned, learned:keys,
 * learned:ver; ARGV a new id (also in *id), the key, "faq_id TAB key TAB
 * question", max (kefu_learned_max).  The admin API and auto-adoption store
 * through it alike.
 */
ngx_int_t
ngx_http_kefu_learn_argv(ngx_http_request_t *r, ngx_http_kefu_tenant_t *t,
    ngx_str_t *faq_id, ngx_str_t *q, u_char *key16, ngx_uint_t max,
    ngx_str_t *argv, ngx_str_t *id)
{
    u_char      *p;
    ngx_str_t    rnd;
    ngx_time_t  *tp;

    if (ngx_http_kefu_random_id(r, 4, &rnd) != NGX_OK
        || ngx_http_kefu_learn_keys(r->pool, t, argv) != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_HTTP_KEFU_LEARN_ID_LEN + faq_id->len + 18
                             + q->len + NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    tp = ngx_timeofday();
    id->data = p;
    p = ngx_sprintf(p, "%013uL%V", (uint64_t) tp->sec * 1000 + tp->msec,
                    &rnd);
    id->len = p - id->data;

    argv[3] = *id;
    argv[4].data = key16;
    argv[4].len = 16;
    argv[5].data = p;
    p = ngx_sprintf(p, "%V\t%*s\t%V", faq_id, (size_t) 16, key16, q);
    argv[5].len = p - argv[5].data;
    argv[6].data = p;
    p = ngx_sprintf(p, "%ui", max);
    argv[6].len = p - argv[6].data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_kefu_admin_similar(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    if (r->method == NGX_HTTP_POST) {
        return ngx_http_kefu_learn_add(r, ctx);
    }

    return ngx_http_kefu_learn_list(r, ctx);
}


static ngx_int_t
ngx_http_kefu_learn_add(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    long                        faq, dup;
    u_char                      key16[16];
    ngx_int_t                   rc;
    ngx_str_t                   argv[7], fid, q;
    ngx_uint_t                  i;
    kefu_json_t                *fv, *qv;
    ngx_http_kefu_tenant_t     *t;
    ngx_http_kefu_main_conf_t  *kmcf;

    t = ctx->tenant;
    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    for (i = 0; i < ctx->body->n; i++) {
        if (ngx_strcmp(ctx->body->keys[i].data, "faq_id") != 0
            && ngx_strcmp(ctx->body->keys[i].data, "question") != 0)
        {
            return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request",
                                            "unknown member (want faq_id "
                                            "and question)");
        }
    }

    fv = kefu_json_get(ctx->body, "faq_id");
    qv = kefu_json_get(ctx->body, "question");

    if (fv == NULL || fv->type != KEFU_JSON_STRING || qv == NULL
        || qv->type != KEFU_JSON_STRING)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "faq_id and question (strings) are "
                                        "required");
    }

    if (qv->str.len == 0 || qv->str.len > KEFU_LEARN_MAX_LEN
        || kefu_learn_key(&ctx->alloc, t->kb->syn, qv->str.data,
                          qv->str.len, key16)
           != KEFU_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_question",
                                        "question must have searchable text "
                                        "and at most 512 bytes");
    }

    faq = kefu_kb_find(t->kb, fv->str.data, fv->str.len);
    if (faq < 0) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND,
                                        "faq_not_found", "no FAQ has this id");
    }

    /* the same wording (as the index sees it) in the file or learned */
    dup = kefu_kb_exact(t->kb, kmcf->scratch, qv->str.data, qv->str.len);
    if (dup >= 0) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_CONFLICT, "duplicate",
                                        "the knowledge base already has "
                                        "this question");
    }

    fid.data = fv->str.data;
    fid.len = fv->str.len;
    q.data = qv->str.data;
    q.len = qv->str.len;

    ctx->data = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (ctx->data == NULL
        || ngx_http_kefu_learn_argv(r, t, &fid, &q, key16, kmcf->learned_max,
                                    argv, ctx->data)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_kefu_redis_eval(r, kmcf->learn_scripts[0], 3, 7, argv,
                                  ngx_http_kefu_learn_added, ctx);

    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_learn_added(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    ngx_str_t                    *what, *id;
    kefu_buf_t                    b;
    kefu_json_t                  *fv, *qv;
    ngx_http_kefu_ctx_t          *ctx = data;
    ngx_http_kefu_redis_reply_t  *rep;

    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n, 1,
                                     "the learned question script", NULL);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    rep = replies[0];

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2
        || rep->element[0]->type != REDIS_REPLY_STRING
        || rep->element[1]->type != REDIS_REPLY_STRING)
    {
        ngx_http_finalize_request(r,
            ngx_http_kefu_redis_unexpected(r, rep,
                                           "the learned question script",
                                           NULL));
        return;
    }

    what = &rep->element[0]->str;

    if (what->len == 9 && ngx_strncmp(what->data, "duplicate", 9) == 0) {
        ngx_http_finalize_request(r,
            ngx_http_kefu_send_error(r, NGX_HTTP_CONFLICT, "duplicate",
                                     "the knowledge base already has this "
                                     "question"));
        return;
    }

    if (what->len == 4 && ngx_strncmp(what->data, "full", 4) == 0) {
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Entity");
        ngx_http_finalize_request(r,
            ngx_http_kefu_send_error(r, 422, "learned_limit",
                                     "the tenant has as many learned "
                                     "questions as kefu_learned_max allows"));
        return;
    }

    id = (ngx_str_t *) ctx->data;
    fv = kefu_json_get(ctx->body, "faq_id");
    qv = kefu_json_get(ctx->body, "question");

    kefu_buf_init(&b, &ctx->alloc, 256);
    kefu_buf_adds(&b, "{\"id\":");
    kefu_buf_add_json_str(&b, id->data, id->len);
    kefu_buf_adds(&b, ",\"faq_id\":");
    kefu_buf_add_json_str(&b, fv->str.data, fv->str.len);
    kefu_buf_adds(&b, ",\"question\":");
    kefu_buf_add_json_str(&b, qv->str.data, qv->str.len);
    kefu_buf_adds(&b, ",\"version\":");
    kefu_buf_add(&b, rep->element[1]->str.data, rep->element[1]->str.len);
    kefu_buf_adds(&b, "}\n");

    ngx_http_finalize_request(r,
                              ngx_http_kefu_send_json(r, NGX_HTTP_CREATED,
                                                      &b));
}


static ngx_int_t
ngx_http_kefu_learn_list(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    long                          faq;
    ngx_str_t                     cursor, faq_id;
    ngx_uint_t                    i, k, limit;
    kefu_buf_t                    b;
    ngx_http_kefu_learn_t        *l;
    ngx_http_kefu_learn_entry_t  *e;

    l = ctx->tenant->learn;
    faq = -2;
    cursor.len = 0;
    ngx_str_null(&faq_id);

    if (ngx_http_kefu_query_uint(r, "limit", 100,
                                 NGX_HTTP_KEFU_LEARN_LIST_MAX, &limit)
        != NGX_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "limit must be 1..500");
    }

    if (ngx_http_arg(r, (u_char *) "cursor", 6, &cursor) == NGX_OK
        && cursor.len > 0)
    {
        for (i = 0; i < cursor.len; i++) {
            if (!ngx_http_kefu_learn_idch(cursor.data[i])) {
                return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                                "invalid_request",
                                                "bad cursor");
            }
        }

    } else {
        cursor.len = 0;
    }

    if (ngx_http_arg(r, (u_char *) "faq_id", 6, &faq_id) == NGX_OK
        && faq_id.len > 0)
    {
        faq = kefu_kb_find(ctx->tenant->kb, faq_id.data, faq_id.len);
        if (faq < 0) {
            return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND,
                                            "faq_not_found",
                                            "no FAQ has this id");
        }
    }

    kefu_buf_init(&b, &ctx->alloc, 4096);
    kefu_buf_adds(&b, "{\"items\":[");

    k = 0;
    e = NULL;

    for (i = 0; i < l->n; i++) {
        e = &l->entries[i];

        if (cursor.len
            && ngx_memn2cmp(e->id.data, cursor.data, e->id.len, cursor.len)
               <= 0)
        {
            continue;
        }

        if (faq != -2 && e->faq != faq) {
            continue;
        }

        if (k == limit) {
            break;
        }

        kefu_buf_adds(&b, k++ ? ",{\"id\":" : "{\"id\":");
        kefu_buf_add_json_str(&b, e->id.data, e->id.len);
        kefu_buf_adds(&b, ",\"faq_id\":");
        kefu_buf_add_json_str(&b, e->faq_id.data, e->faq_id.len);
        kefu_buf_adds(&b, ",\"question\":");
        kefu_buf_add_json_str(&b, e->question.data, e->question.len);
        kefu_buf_adds(&b, e->kept ? ",\"in_file\":false}"
                                  : ",\"in_file\":true}");
    }

    kefu_buf_adds(&b, "],\"next_cursor\":");

    if (i < l->n && k > 0) {
        e = &l->entries[i - 1];

        /* the last one written: entries between are filtered out */
        for ( /* void */ ; i > 0; i--) {
            e = &l->entries[i - 1];

            if (faq == -2 || e->faq == faq) {
                break;
            }
        }

        kefu_buf_add_json_str(&b, e->id.data, e->id.len);

    } else {
        kefu_buf_adds(&b, "null");
    }

    kefu_buf_addf(&b, ",\"total\":%lu,\"version\":%lld,\"max\":%lu}\n",
                  (unsigned long) l->n, (long long) l->version,
                  (unsigned long) ((ngx_http_kefu_main_conf_t *)
                      ngx_http_get_module_main_conf(r, ngx_http_kefu_module))
                      ->learned_max);

    return ngx_http_kefu_send_json(r, NGX_HTTP_OK, &b);
}


static ngx_int_t
ngx_http_kefu_admin_similar_delete(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx)
{
    ngx_int_t                   rc;
    ngx_str_t                   keys[3], argv[4];
    ngx_uint_t                  i;
    ngx_http_kefu_main_conf_t  *kmcf;

    if (ctx->path_arg.len != NGX_HTTP_KEFU_LEARN_ID_LEN) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        "no learned question has this id");
    }

    for (i = 0; i < ctx->path_arg.len; i++) {
        if (!ngx_http_kefu_learn_idch(ctx->path_arg.data[i])) {
            return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND,
                                            "not_found",
                                            "no learned question has this "
                                            "id");
        }
    }

    if (ngx_http_kefu_learn_keys(r->pool, ctx->tenant, keys) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    argv[0] = keys[0];
    argv[1] = keys[1];
    argv[2] = keys[2];
    argv[3] = ctx->path_arg;

    rc = ngx_http_kefu_redis_eval(r, kmcf->learn_scripts[1], 3, 4, argv,
                                  ngx_http_kefu_learn_deleted, ctx);

    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_learn_deleted(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    kefu_buf_t            b;
    ngx_http_kefu_ctx_t  *ctx = data;

    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n, 1,
                                     "the learned question delete", NULL);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (replies[0]->type != REDIS_REPLY_INTEGER) {
        ngx_http_finalize_request(r,
            ngx_http_kefu_redis_unexpected(r, replies[0],
                                           "the learned question delete",
                                           NULL));
        return;
    }

    if (replies[0]->integer == 0) {
        ngx_http_finalize_request(r,
            ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                     "no learned question has this id"));
        return;
    }

    kefu_buf_init(&b, &ctx->alloc, 64);
    kefu_buf_adds(&b, "{\"id\":");
    kefu_buf_add_json_str(&b, ctx->path_arg.data, ctx->path_arg.len);
    kefu_buf_adds(&b, ",\"deleted\":true}\n");

    ngx_http_finalize_request(r, ngx_http_kefu_send_json(r, NGX_HTTP_OK, &b));
}


/*
 * The tenant's KB file with the learned questions merged: read from disk
 * (it must still be the file the KB was loaded from: same FAQs in the
 * same order, else 409), each FAQ's "similar" replaced by the merged
 * list.  Blocking file read: an admin's rare request.
 */
static ngx_int_t
ngx_http_kefu_admin_kb_export(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    char              err[256];
    u_char           *buf;
    ssize_t           n;
    ngx_fd_t          fd;
    kefu_buf_t        b;
    ngx_file_info_t   fi;
    ngx_str_t        *path;

    path = &ctx->tenant->kb_file;

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_CONFLICT,
                                        "kb_file_changed",
                                        "the KB file cannot be read");
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > KEFU_KB_MAX_FILE)
    {
        ngx_close_file(fd);
        return ngx_http_kefu_send_error(r, NGX_HTTP_CONFLICT,
                                        "kb_file_changed",
                                        "the KB file cannot be read");
    }

    buf = ngx_pnalloc(r->pool, (size_t) ngx_file_size(&fi) + 1);
    if (buf == NULL) {
        ngx_close_file(fd);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ngx_read_fd(fd, buf, (size_t) ngx_file_size(&fi));
    ngx_close_file(fd);

    if (n != (ssize_t) ngx_file_size(&fi)) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_CONFLICT,
                                        "kb_file_changed",
                                        "the KB file cannot be read");
    }

    kefu_buf_init(&b, &ctx->alloc, (size_t) n + (size_t) n / 4 + 1024);

    if (kefu_kb_export(&ctx->alloc, buf, (size_t) n, ctx->tenant->kb, &b,
                       err, sizeof(err))
        != KEFU_OK)
    {
        if (b.failed) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_kefu_send_error(r, NGX_HTTP_CONFLICT,
                                        "kb_file_changed", err);
    }

    return ngx_http_kefu_send_json(r, NGX_HTTP_OK, &b);
}
