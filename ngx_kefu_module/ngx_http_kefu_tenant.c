/*
 * ngx_kefu: tenants.  Each `kefu_tenant NAME { ... }` block names the
 * tenant's HS256 secret file and knowledge base; both are read and the KB
 * indexed at configuration time, so `nginx -t` reports a broken tenant and
 * a reload with one keeps the old workers serving.
 */

#include "ngx_http_kefu_module.h"
#include "ngx_http_kefu_tenant.h"
#include "kefu_kb.h"
#include "kefu_memo.h"
#include "kefu_trigger.h"


#define NGX_HTTP_KEFU_SECRET_MIN   32      /* HS256: RFC 7518 3.2 */
#define NGX_HTTP_KEFU_SECRET_MAX   4096
/* the /v1/ask search memo: about 1.4 MB per worker */
#define NGX_HTTP_KEFU_MEMO_SLOTS   4096


typedef enum {
    NGX_HTTP_KEFU_T_PATH,
    NGX_HTTP_KEFU_T_RATIO,
    NGX_HTTP_KEFU_T_TIME,
    NGX_HTTP_KEFU_T_NUMBER,
    NGX_HTTP_KEFU_T_FLAG
} ngx_http_kefu_tenant_arg_e;


typedef struct {
    ngx_str_t                    name;
    ngx_http_kefu_tenant_arg_e   type;
    size_t                       offset;
} ngx_http_kefu_tenant_directive_t;


static ngx_http_kefu_tenant_directive_t  ngx_http_kefu_tenant_directives[] = {
    { ngx_string("jwt_secret_file"), NGX_HTTP_KEFU_T_PATH,
      offsetof(ngx_http_kefu_tenant_t, secret_file) },
    { ngx_string("knowledge_base"), NGX_HTTP_KEFU_T_PATH,
      offsetof(ngx_http_kefu_tenant_t, kb_file) },
    { ngx_string("answer_threshold"), NGX_HTTP_KEFU_T_RATIO,
      offsetof(ngx_http_kefu_tenant_t, answer_threshold) },
    { ngx_string("clarify_threshold"), NGX_HTTP_KEFU_T_RATIO,
      offsetof(ngx_http_kefu_tenant_t, clarify_threshold) },
    { ngx_string("session_ttl"), NGX_HTTP_KEFU_T_TIME,
      offsetof(ngx_http_kefu_tenant_t, session_ttl) },
    { ngx_string("session_turns"), NGX_HTTP_KEFU_T_NUMBER,
      offsetof(ngx_http_kefu_tenant_t, session_turns) },
    { ngx_string("trail_max"), NGX_HTTP_KEFU_T_NUMBER,
      offsetof(ngx_http_kefu_tenant_t, trail_max) },
    { ngx_string("trail_ttl"), NGX_HTTP_KEFU_T_TIME,
      offsetof(ngx_http_kefu_tenant_t, trail_ttl) },
    { ngx_string("trail_half_life"), NGX_HTTP_KEFU_T_TIME,
      offsetof(ngx_http_kefu_tenant_t, trail_half_life) },
    { ngx_string("suggest_limit"), NGX_HTTP_KEFU_T_NUMBER,
      offsetof(ngx_http_kefu_tenant_t, suggest_limit) },
    { ngx_string("suggest_scene_weight"), NGX_HTTP_KEFU_T_RATIO,
      offsetof(ngx_http_kefu_tenant_t, suggest_scene_weight) },
    { ngx_string("suggest_hot_weight"), NGX_HTTP_KEFU_T_RATIO,
      offsetof(ngx_http_kefu_tenant_t, suggest_hot_weight) },
    { ngx_string("suggest_hot_half_life"), NGX_HTTP_KEFU_T_TIME,
      offsetof(ngx_http_kefu_tenant_t, suggest_hot_half_life) },
    { ngx_string("suggest_risk_window"), NGX_HTTP_KEFU_T_TIME,
      offsetof(ngx_http_kefu_tenant_t, suggest_risk_window) },
    { ngx_string("suggest_asked_window"), NGX_HTTP_KEFU_T_TIME,
      offsetof(ngx_http_kefu_tenant_t, suggest_asked_window) },
    { ngx_string("suggest_per_topic"), NGX_HTTP_KEFU_T_NUMBER,
      offsetof(ngx_http_kefu_tenant_t, suggest_per_topic) },
    { ngx_string("stats_top_max"), NGX_HTTP_KEFU_T_NUMBER,
      offsetof(ngx_http_kefu_tenant_t, stats_top_max) },
    { ngx_string("unanswered_per_user"), NGX_HTTP_KEFU_T_NUMBER,
      offsetof(ngx_http_kefu_tenant_t, unanswered_per_user) },
    { ngx_string("stream_max"), NGX_HTTP_KEFU_T_NUMBER,
      offsetof(ngx_http_kefu_tenant_t, stream_max) },
    { ngx_string("handoff_per_user"), NGX_HTTP_KEFU_T_NUMBER,
      offsetof(ngx_http_kefu_tenant_t, handoff_per_user) },
    { ngx_string("loss_reports_per_day"), NGX_HTTP_KEFU_T_NUMBER,
      offsetof(ngx_http_kefu_tenant_t, loss_reports_per_day) },
    { ngx_string("learn_min_users"), NGX_HTTP_KEFU_T_NUMBER,
      offsetof(ngx_http_kefu_tenant_t, learn_min_users) },
    { ngx_string("learn_auto_adopt"), NGX_HTTP_KEFU_T_FLAG,
      offsetof(ngx_http_kefu_tenant_t, learn_auto_adopt) },
    { ngx_null_string, 0, 0 }
};


static char *ngx_http_kefu_tenant_directive(ngx_conf_t *cf,
    ngx_command_t *dummy, void *conf);
static char *ngx_http_kefu_tenant_finish(ngx_conf_t *cf,
    ngx_http_kefu_tenant_t *t);
static char *ngx_http_kefu_read_secret(ngx_conf_t *cf,
    ngx_http_kefu_tenant_t *t);
static char *ngx_http_kefu_load_kb(ngx_conf_t *cf, ngx_http_kefu_tenant_t *t);
static int ngx_http_kefu_tenant_cmp(const void *a, const void *b);


char *
ngx_http_kefu_tenant_block(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_kefu_main_conf_t *kmcf = conf;

    char                    *rv;
    ngx_str_t               *value;
    ngx_uint_t               i;
    ngx_conf_t               save;
    ngx_http_kefu_tenant_t  *t;

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > 64) {
        return "needs a name of 1 to 64 characters";
    }

    for (i = 0; i < value[1].len; i++) {
        if (!isalnum(value[1].data[i])
            && value[1].data[i] != '-' && value[1].data[i] != '_')
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid tenant name \"%V\": use letters, "
                               "digits, \"-\" and \"_\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_kefu_find_tenant(kmcf, value[1].data, value[1].len)
        != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate kefu_tenant \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    t = ngx_array_push(&kmcf->tenants);
    if (t == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(t, sizeof(ngx_http_kefu_tenant_t));

    t->name = value[1];
    t->answer_threshold = -1;
    t->clarify_threshold = -1;
    t->session_ttl = NGX_CONF_UNSET;
    t->session_turns = NGX_CONF_UNSET_UINT;
    t->trail_max = NGX_CONF_UNSET_UINT;
    t->trail_ttl = NGX_CONF_UNSET;
    t->trail_half_life = NGX_CONF_UNSET;
    t->suggest_limit = NGX_CONF_UNSET_UINT;
    t->suggest_scene_weight = -1;
    t->suggest_hot_weight = -1;
    t->suggest_hot_half_life = NGX_CONF_UNSET;
    t->suggest_risk_window = NGX_CONF_UNSET;
    t->suggest_asked_window = NGX_CONF_UNSET;
    t->suggest_per_topic = NGX_CONF_UNSET_UINT;
    t->stats_top_max = NGX_CONF_UNSET_UINT;
    t->unanswered_per_user = NGX_CONF_UNSET_UINT;
    t->learn_min_users = NGX_CONF_UNSET_UINT;
    t->learn_auto_adopt = NGX_CONF_UNSET;
    t->stream_max = NGX_CONF_UNSET_UINT;
    t->handoff_per_user = NGX_CONF_UNSET_UINT;
    t->loss_reports_per_day = NGX_CONF_UNSET_UINT;

    save = *cf;
    cf->handler = ngx_http_kefu_tenant_directive;
    cf->handler_conf = (char *) t;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    return ngx_http_kefu_tenant_finish(cf, t);
}


static char *
ngx_http_kefu_tenant_directive(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf)
{
    ngx_http_kefu_tenant_t *t = conf;

    u_char                            *p;
    double                             ratio;
    ngx_int_t                          n;
    ngx_str_t                         *value, *path;
    ngx_http_kefu_tenant_directive_t  *d;

    value = cf->args->elts;

    for (d = ngx_http_kefu_tenant_directives; d->name.len; d++) {
        if (d->name.len == value[0].len
            && ngx_strncmp(d->name.data, value[0].data, value[0].len) == 0)
        {
            break;
        }
    }

    if (d->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown directive \"%V\" in kefu_tenant \"%V\"",
                           &value[0], &t->name);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts != 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" takes one argument", &value[0]);
        return NGX_CONF_ERROR;
    }

    p = (u_char *) t + d->offset;

    switch (d->type) {

    case NGX_HTTP_KEFU_T_PATH:
        path = (ngx_str_t *) p;
        if (path->data != NULL) {
            return "is duplicate";
        }

        *path = value[1];

        if (ngx_conf_full_name(cf->cycle, path, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;

    case NGX_HTTP_KEFU_T_RATIO:
        n = ngx_atofp(value[1].data, value[1].len, 3);
        if (n == NGX_ERROR || n > 1000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" must be a number from 0 to 1, "
                               "not \"%V\"", &value[0], &value[1]);
            return NGX_CONF_ERROR;
        }

        ratio = (double) n / 1000;
        *(double *) p = ratio;
        return NGX_CONF_OK;

    case NGX_HTTP_KEFU_T_TIME:
        n = ngx_parse_time(&value[1], 1);
        if (n == NGX_ERROR || n == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid time \"%V\" for \"%V\"",
                               &value[1], &value[0]);
            return NGX_CONF_ERROR;
        }

        *(time_t *) p = (time_t) n;
        return NGX_CONF_OK;

    case NGX_HTTP_KEFU_T_FLAG:
        if (*(ngx_flag_t *) p != NGX_CONF_UNSET) {
            return "is duplicate";
        }

        if (value[1].len == 2 && ngx_strncmp(value[1].data, "on", 2) == 0) {
            *(ngx_flag_t *) p = 1;

        } else if (value[1].len == 3
                   && ngx_strncmp(value[1].data, "off", 3) == 0)
        {
            *(ngx_flag_t *) p = 0;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" must be \"on\" or \"off\", not "
                               "\"%V\"", &value[0], &value[1]);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;

    default: /* NGX_HTTP_KEFU_T_NUMBER */
        n = ngx_atoi(value[1].data, value[1].len);
        if (n == NGX_ERROR || n == 0 || n > 100000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid number \"%V\" for \"%V\"",
                               &value[1], &value[0]);
            return NGX_CONF_ERROR;
        }

        *(ngx_uint_t *) p = (ngx_uint_t) n;
        return NGX_CONF_OK;
    }
}


static char *
ngx_http_kefu_tenant_finish(ngx_conf_t *cf, ngx_http_kefu_tenant_t *t)
{
    char  *rv;

    if (t->answer_threshold < 0) {
        t->answer_threshold = 0.6;
    }

    if (t->clarify_threshold < 0) {
        t->clarify_threshold = t->answer_threshold < 0.35
                               ? t->answer_threshold : 0.35;
    }

    if (t->clarify_threshold > t->answer_threshold) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_tenant \"%V\": clarify_threshold is above "
                           "answer_threshold", &t->name);
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_value(t->session_ttl, 1800);
    ngx_conf_init_uint_value(t->session_turns, 6);
    ngx_conf_init_uint_value(t->trail_max, 200);
    ngx_conf_init_value(t->trail_ttl, 7 * 86400);
    ngx_conf_init_value(t->trail_half_life, 3600);
    ngx_conf_init_uint_value(t->suggest_limit, 5);

    if (t->suggest_scene_weight < 0) {
        t->suggest_scene_weight = 1.0;
    }

    if (t->suggest_hot_weight < 0) {
        t->suggest_hot_weight = 0.5;
    }

    ngx_conf_init_value(t->suggest_hot_half_life, 3600);
    ngx_conf_init_value(t->suggest_risk_window, 3600);
    ngx_conf_init_value(t->suggest_asked_window, 600);
    ngx_conf_init_uint_value(t->suggest_per_topic, 2);
    ngx_conf_init_uint_value(t->stats_top_max, 1000);
    ngx_conf_init_uint_value(t->unanswered_per_user, 20);
    ngx_conf_init_uint_value(t->stream_max, 10000);
    ngx_conf_init_uint_value(t->handoff_per_user, 3);
    ngx_conf_init_uint_value(t->loss_reports_per_day, 10);
    ngx_conf_init_uint_value(t->learn_min_users, 3);
    ngx_conf_init_value(t->learn_auto_adopt, 0);

    if (t->stats_top_max == 0 || t->stream_max == 0
        || t->handoff_per_user == 0 || t->loss_reports_per_day == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_tenant \"%V\": stats_top_max, stream_max, "
                           "handoff_per_user and loss_reports_per_day must "
                           "be at least 1",
                           &t->name);
        return NGX_CONF_ERROR;
    }

    if (t->secret_file.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_tenant \"%V\" has no jwt_secret_file",
                           &t->name);
        return NGX_CONF_ERROR;
    }

    if (t->kb_file.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_tenant \"%V\" has no knowledge_base",
                           &t->name);
        return NGX_CONF_ERROR;
    }

    rv = ngx_http_kefu_read_secret(cf, t);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    return ngx_http_kefu_load_kb(cf, t);
}


static char *
ngx_http_kefu_read_secret(ngx_conf_t *cf, ngx_http_kefu_tenant_t *t)
{
    off_t             size;
    u_char           *buf;
    size_t            len;
    ssize_t           n, got;
    ngx_fd_t          fd;
    ngx_file_info_t   fi;

    fd = ngx_open_file(t->secret_file.data, NGX_FILE_RDONLY,
                       NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "kefu_tenant \"%V\": cannot open jwt_secret_file "
                           "\"%V\"", &t->name, &t->secret_file);
        return NGX_CONF_ERROR;
    }

    buf = NULL;
    n = -1;
    size = -1;

    /* the whole file or nothing: a short read is an error, never a key
     * made of what happened to arrive */
    if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR
        && ngx_file_size(&fi) <= NGX_HTTP_KEFU_SECRET_MAX)
    {
        size = ngx_file_size(&fi);
        buf = ngx_pnalloc(cf->pool, NGX_HTTP_KEFU_SECRET_MAX + 1);

        if (buf != NULL) {
            n = 0;

            while (n <= NGX_HTTP_KEFU_SECRET_MAX) {
                got = ngx_read_fd(fd, buf + n,
                                  NGX_HTTP_KEFU_SECRET_MAX + 1 - n);

                if (got == -1 && ngx_errno == NGX_EINTR) {
                    continue;
                }

                if (got <= 0) {
                    if (got < 0) {
                        n = -1;
                    }

                    break;
                }

                n += got;
            }
        }
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed",
                           &t->secret_file);
    }

    if (n < 0 || n > NGX_HTTP_KEFU_SECRET_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "kefu_tenant \"%V\": cannot read jwt_secret_file "
                           "\"%V\" (at most %d bytes)", &t->name,
                           &t->secret_file, NGX_HTTP_KEFU_SECRET_MAX);
        return NGX_CONF_ERROR;
    }

    if (n != size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_tenant \"%V\": short read of "
                           "jwt_secret_file \"%V\" (%z of %O bytes)",
                           &t->name, &t->secret_file, n, size);
        return NGX_CONF_ERROR;
    }

    /* editors add a final newline; it is never part of the key */
    len = n;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        len--;
    }

    if (len < NGX_HTTP_KEFU_SECRET_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_tenant \"%V\": jwt_secret_file \"%V\" "
                           "holds a key shorter than %d bytes (HS256 needs "
                           "a key of at least 256 bits, RFC 7518 section "
                           "3.2)", &t->name, &t->secret_file,
                           NGX_HTTP_KEFU_SECRET_MIN);
        return NGX_CONF_ERROR;
    }

    t->secret.data = buf;
    t->secret.len = len;

    return NGX_CONF_OK;
}


static char *
ngx_http_kefu_load_kb(ngx_conf_t *cf, ngx_http_kefu_tenant_t *t)
{
    char           err[512];
    kefu_alloc_t   alloc;

    alloc.alloc = ngx_http_kefu_pool_alloc;
    alloc.ctx = cf->pool;
    err[0] = '\0';

    t->kb = kefu_kb_load(&alloc, (const char *) t->kb_file.data,
                         err, sizeof(err));
    if (t->kb == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_tenant \"%V\": knowledge_base %s",
                           &t->name, err);
        return NGX_CONF_ERROR;
    }

    /* 猜你关心: the KB's trigger map for /v1/suggestions */
    t->suggest = kefu_trigger_index_build(&alloc, t->kb);
    if (t->suggest == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_tenant \"%V\": no memory for the "
                           "suggestion index", &t->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_kefu_tenants_init(ngx_conf_t *cf, ngx_http_kefu_main_conf_t *kmcf)
{
    /* sorted once so that a request finds its tenant by binary search */
    ngx_qsort(kmcf->tenants.elts, kmcf->tenants.nelts,
              sizeof(ngx_http_kefu_tenant_t), ngx_http_kefu_tenant_cmp);
    kmcf->sorted = 1;

    return NGX_CONF_OK;
}


/*
 * Each worker gets one search scratch, big enough for its largest KB, in
 * its own copy of the main conf: the KBs themselves stay read-only and
 * shared with the master.
 */

ngx_int_t
ngx_http_kefu_tenants_init_process(ngx_cycle_t *cycle,
    ngx_http_kefu_main_conf_t *kmcf)
{
    uint32_t                 ndocs;
    ngx_uint_t               i;
    kefu_alloc_t             alloc;
    ngx_http_kefu_tenant_t  *t;

    t = kmcf->tenants.elts;
    ndocs = 0;

    for (i = 0; i < kmcf->tenants.nelts; i++) {
        ndocs = ngx_max(ndocs, kefu_kb_ndocs(t[i].kb));
    }

    if (kmcf->tenants.nelts == 0) {
        return NGX_OK;
    }

    alloc.alloc = ngx_http_kefu_pool_alloc;
    alloc.ctx = cycle->pool;

    kmcf->scratch = kefu_search_scratch_create(&alloc, ndocs);
    kmcf->memo = kefu_memo_create(&alloc, NGX_HTTP_KEFU_MEMO_SLOTS);

    if (kmcf->scratch == NULL || kmcf->memo == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "kefu: no memory for the search scratch");
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_http_kefu_tenant_t *
ngx_http_kefu_find_tenant(ngx_http_kefu_main_conf_t *kmcf, u_char *name,
    size_t len)
{
    ngx_int_t                c;
    ngx_uint_t               lo, hi, mid, i;
    ngx_http_kefu_tenant_t  *t;

    t = kmcf->tenants.elts;
    lo = 0;
    hi = kmcf->tenants.nelts;

    /* while the configuration is being read the array is not sorted yet */
    if (!kmcf->sorted) {
        for (i = 0; i < hi; i++) {
            if (t[i].name.len == len
                && ngx_memcmp(t[i].name.data, name, len) == 0)
            {
                return &t[i];
            }
        }

        return NULL;
    }

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        c = ngx_memn2cmp(name, t[mid].name.data, len, t[mid].name.len);
        if (c == 0) {
            return &t[mid];
        }

        if (c < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


static int
ngx_http_kefu_tenant_cmp(const void *a, const void *b)
{
    const ngx_http_kefu_tenant_t  *ta = a, *tb = b;

    return ngx_memn2cmp(ta->name.data, tb->name.data, ta->name.len,
                        tb->name.len);
}
