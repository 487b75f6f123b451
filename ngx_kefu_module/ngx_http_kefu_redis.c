/*
 * ngx_kefu: the worker's asynchronous Redis connection.
 *
 * hiredis 0.14 is the protocol codec and command queue; nginx owns the
 * event loop and every timer.  The socket is wrapped in an nginx
 * connection and watched level-triggered (hiredis reads at most 16 KiB
 * per call, so edge-triggered events would stall on large replies).
 *
 * Request handlers never run inside a hiredis callback: callbacks only
 * copy replies and move finished operations to a "done" queue, which
 * the connection's event handlers drain after hiredis has returned.
 * hiredis therefore never sees re-entrant frees, and a handler may send
 * the next batch at once.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_http_kefu_redis.h"


#define NGX_HTTP_KEFU_REDIS_PORT             6379
#define NGX_HTTP_KEFU_REDIS_TIMEOUT          200
#define NGX_HTTP_KEFU_REDIS_CONNECT_TIMEOUT  500
#define NGX_HTTP_KEFU_REDIS_MAX_PENDING      4096
#define NGX_HTTP_KEFU_REDIS_BACKOFF_MIN      50
/* capped so that requests succeed again about 1 s after Redis is back */
#define NGX_HTTP_KEFU_REDIS_BACKOFF_MAX      1000
#define NGX_HTTP_KEFU_REDIS_PASSWORD_MAX     512

/* the connection is declared stalled when its oldest unanswered command
 * is this many command timeouts past its own deadline */
#define NGX_HTTP_KEFU_REDIS_STALL            2


typedef enum {
    NGX_HTTP_KEFU_REDIS_DOWN = 0,
    NGX_HTTP_KEFU_REDIS_CONNECTING,
    NGX_HTTP_KEFU_REDIS_HANDSHAKE,
    NGX_HTTP_KEFU_REDIS_READY
} ngx_http_kefu_redis_state_e;


/* why the connection went away; the same reason is logged once as an
 * error, repeats go to the info level so a long outage does not flood */
typedef enum {
    NGX_HTTP_KEFU_REDIS_OK = 0,
    NGX_HTTP_KEFU_REDIS_ECONNECT,
    NGX_HTTP_KEFU_REDIS_ETIMEDOUT,
    NGX_HTTP_KEFU_REDIS_EAUTH,
    NGX_HTTP_KEFU_REDIS_ESELECT,
    NGX_HTTP_KEFU_REDIS_EPING,
    NGX_HTTP_KEFU_REDIS_ELOST,
    NGX_HTTP_KEFU_REDIS_ESTALL
} ngx_http_kefu_redis_err_e;


typedef struct ngx_http_kefu_redis_op_s  ngx_http_kefu_redis_op_t;

/*
 * One batch of one request.  Allocated with ngx_alloc, not from the
 * request pool: hiredis holds it as privdata until the last reply (or
 * the disconnect) even when the request is long gone.
 */
struct ngx_http_kefu_redis_op_s {
    ngx_queue_t                      wire;      /* rd.wire, send order */
    ngx_queue_t                      done;      /* rd.done */
    ngx_event_t                      timer;     /* command timeout */
    ngx_http_request_t              *r;         /* NULL once detached */
    ngx_pool_cleanup_t              *cln;
    ngx_http_kefu_redis_handler_pt   handler;
    void                            *data;
    ngx_http_kefu_redis_reply_t    **replies;   /* in r->pool */
    ngx_uint_t                       n;
    ngx_uint_t                       received;
    ngx_uint_t                       outstanding;   /* hiredis callbacks */
    ngx_msec_t                       sent;
    ngx_int_t                        rc;
    ngx_str_t                       *eval;      /* EVALSHA argv, r->pool
                                                   or after the op */
    ngx_uint_t                       eval_argc;
    ngx_uint_t                       script;
    unsigned                         waiting:1;     /* handler owed */
    unsigned                         queued:1;      /* in rd.done */
    unsigned                         retried:1;     /* EVAL sent */
    unsigned                         detached:1;    /* eval_detached() */
};


typedef struct {
    ngx_http_kefu_redis_conf_t      *conf;
    ngx_log_t                       *log;
    redisAsyncContext               *ac;
    ngx_http_kefu_redis_state_e      state;
    ngx_http_kefu_redis_err_e        last_error;
    ngx_uint_t                       handshake;     /* replies expected */
    ngx_uint_t                       step;          /* replies received */
    ngx_msec_t                       backoff;
    ngx_uint_t                       attempts;
    ngx_queue_t                      wire;
    ngx_queue_t                      done;
    ngx_event_t                      reconnect;
    ngx_event_t                      connect_timer;
    ngx_event_t                      watchdog;
    const char                     **argv;          /* scratch for hiredis */
    size_t                          *argvlen;
    ngx_uint_t                       nargv;
    ngx_http_kefu_redis_stats_t      stats;
    redisReplyObjectFunctions       *reply_fn;      /* hiredis' own */
    redisReplyObjectFunctions        checked_fn;    /* wrapping them */
    unsigned                         exiting:1;
} ngx_http_kefu_redis_t;


static ngx_int_t ngx_http_kefu_redis_parse_address(ngx_conf_t *cf,
    ngx_http_kefu_redis_conf_t *rcf, ngx_str_t *addr);
static char *ngx_http_kefu_redis_read_password(ngx_conf_t *cf,
    ngx_http_kefu_redis_conf_t *rcf, ngx_str_t *path);

static void ngx_http_kefu_redis_connect(void);
static ngx_uint_t ngx_http_kefu_redis_expected(const redisReadTask *task);
static void *ngx_http_kefu_redis_reply_string(const redisReadTask *task,
    char *str, size_t len);
static void *ngx_http_kefu_redis_reply_array(const redisReadTask *task,
    int elements);
static void *ngx_http_kefu_redis_reply_integer(const redisReadTask *task,
    long long value);
static void *ngx_http_kefu_redis_reply_nil(const redisReadTask *task);
static ngx_int_t ngx_http_kefu_redis_attach(redisAsyncContext *ac);
static void ngx_http_kefu_redis_add_read(void *data);
static void ngx_http_kefu_redis_del_read(void *data);
static void ngx_http_kefu_redis_add_write(void *data);
static void ngx_http_kefu_redis_del_write(void *data);
static void ngx_http_kefu_redis_cleanup(void *data);
static void ngx_http_kefu_redis_read_handler(ngx_event_t *rev);
static void ngx_http_kefu_redis_write_handler(ngx_event_t *wev);
static void ngx_http_kefu_redis_connect_cb(const redisAsyncContext *ac,
    int status);
static void ngx_http_kefu_redis_disconnect_cb(const redisAsyncContext *ac,
    int status);
static void ngx_http_kefu_redis_handshake_cb(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_kefu_redis_failed(ngx_http_kefu_redis_err_e err,
    const char *fmt, const char *detail);
static void ngx_http_kefu_redis_lost(const redisAsyncContext *ac);
static void ngx_http_kefu_redis_drop(ngx_uint_t reconnect);
static void ngx_http_kefu_redis_schedule(void);
static void ngx_http_kefu_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_kefu_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_kefu_redis_watchdog(ngx_event_t *ev);

static ngx_int_t ngx_http_kefu_redis_command(redisAsyncContext *ac,
    redisCallbackFn *fn, void *privdata, ngx_uint_t argc, ngx_str_t *argv);
static ngx_http_kefu_redis_op_t *ngx_http_kefu_redis_op_create(
    ngx_http_request_t *r, ngx_uint_t n,
    ngx_http_kefu_redis_handler_pt handler, void *data);
static void ngx_http_kefu_redis_op_start(ngx_http_kefu_redis_op_t *op);
static void ngx_http_kefu_redis_op_detach(ngx_http_kefu_redis_op_t *op);
static void ngx_http_kefu_redis_op_free(ngx_http_kefu_redis_op_t *op);
static void ngx_http_kefu_redis_op_finish(ngx_http_kefu_redis_op_t *op,
    ngx_int_t rc);
static void ngx_http_kefu_redis_op_cleanup(void *data);
static void ngx_http_kefu_redis_op_timeout(ngx_event_t *ev);
static void ngx_http_kefu_redis_reply_cb(redisAsyncContext *ac, void *reply,
    void *privdata);
static ngx_int_t ngx_http_kefu_redis_eval_check(ngx_log_t *log,
    ngx_uint_t script, ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv,
    size_t *len);
static void ngx_http_kefu_redis_eval_argv(ngx_http_kefu_redis_op_t *op,
    ngx_str_t *av, u_char *p, ngx_uint_t script, ngx_uint_t nkeys,
    ngx_uint_t argc, ngx_str_t *argv);
static ngx_int_t ngx_http_kefu_redis_eval_queue(ngx_http_kefu_redis_op_t *op);
static void ngx_http_kefu_redis_detached_timeout(ngx_event_t *ev);
static ngx_int_t ngx_http_kefu_redis_eval_retry(redisAsyncContext *ac,
    ngx_http_kefu_redis_op_t *op, redisReply *reply);
static ngx_http_kefu_redis_reply_t *ngx_http_kefu_redis_copy(ngx_pool_t *pool,
    redisReply *reply);
static void ngx_http_kefu_redis_run_done(void);


/* the worker's only mutable state: its connection, queues and stats */
static ngx_http_kefu_redis_t  ngx_http_kefu_redis;


static ngx_str_t  ngx_http_kefu_redis_evalsha = ngx_string("EVALSHA");
static ngx_str_t  ngx_http_kefu_redis_eval_cmd = ngx_string("EVAL");


/* configuration */

char *
ngx_http_kefu_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_kefu_redis_conf_t  *rcf;

    ngx_int_t    n;
    ngx_str_t   *value, s, password_file;
    ngx_uint_t   i;

    rcf = (ngx_http_kefu_redis_conf_t *) ((char *) conf + cmd->offset);

    if (rcf->configured) {
        return "is duplicate";
    }

    value = cf->args->elts;

    rcf->name = value[1];
    rcf->db = 0;
    rcf->timeout = NGX_HTTP_KEFU_REDIS_TIMEOUT;
    rcf->connect_timeout = NGX_HTTP_KEFU_REDIS_CONNECT_TIMEOUT;
    rcf->max_pending = NGX_HTTP_KEFU_REDIS_MAX_PENDING;
    ngx_str_null(&rcf->password);
    ngx_str_null(&password_file);

    if (ngx_http_kefu_redis_parse_address(cf, rcf, &value[1]) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "password_file=", 14) == 0) {
            password_file.data = value[i].data + 14;
            password_file.len = value[i].len - 14;
            continue;
        }

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            n = ngx_atoi(value[i].data + 3, value[i].len - 3);
            if (n == NGX_ERROR || n > 65535) {
                goto invalid;
            }

            rcf->db = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            rcf->timeout = ngx_parse_time(&s, 0);
            if (rcf->timeout == (ngx_msec_t) NGX_ERROR || rcf->timeout == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "connect_timeout=", 16) == 0) {
            s.data = value[i].data + 16;
            s.len = value[i].len - 16;

            rcf->connect_timeout = ngx_parse_time(&s, 0);
            if (rcf->connect_timeout == (ngx_msec_t) NGX_ERROR
                || rcf->connect_timeout == 0)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max_pending=", 12) == 0) {
            n = ngx_atoi(value[i].data + 12, value[i].len - 12);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            rcf->max_pending = n;
            continue;
        }

        goto invalid;
    }

    if (password_file.len) {
        if (ngx_http_kefu_redis_read_password(cf, rcf, &password_file)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    rcf->configured = 1;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


/*
 * Only numeric addresses: hiredis 0.14 resolves names with a blocking
 * getaddrinfo() in redisAsyncConnect(), which would stall the worker on
 * every reconnect.
 */
static ngx_int_t
ngx_http_kefu_redis_parse_address(ngx_conf_t *cf,
    ngx_http_kefu_redis_conf_t *rcf, ngx_str_t *addr)
{
    u_char     *p, *last, *port;
    size_t      len;
    ngx_int_t   n;
#if (NGX_HAVE_INET6)
    u_char      buf[16];
#endif

    p = addr->data;
    last = addr->data + addr->len;

    if (addr->len > 5 && ngx_strncmp(p, "unix:", 5) == 0) {
        p += 5;
        len = last - p;

        if (len == 0 || *p != '/') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "kefu_redis: unix socket path \"%V\" "
                               "must be absolute", addr);
            return NGX_ERROR;
        }

        /* hiredis would silently truncate a longer path */
        if (len >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "kefu_redis: unix socket path \"%V\" "
                               "is too long", addr);
            return NGX_ERROR;
        }

        rcf->unix_path.data = ngx_pnalloc(cf->pool, len + 1);
        if (rcf->unix_path.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(rcf->unix_path.data, p, len);
        rcf->unix_path.data[len] = '\0';
        rcf->unix_path.len = len;

        return NGX_OK;
    }

    port = NULL;

    if (p < last && *p == '[') {
        p++;

        port = ngx_strlchr(p, last, ']');
        if (port == NULL) {
            goto invalid;
        }

        len = port - p;
        port++;

        if (port < last) {
            if (*port != ':') {
                goto invalid;
            }

            port++;

        } else {
            port = NULL;
        }

#if (NGX_HAVE_INET6)
        if (len == 0 || ngx_inet6_addr(p, len, buf) != NGX_OK) {
            goto not_numeric;
        }
#else
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_redis: IPv6 is not supported "
                           "by this nginx: \"%V\"", addr);
        return NGX_ERROR;
#endif

    } else {
        port = ngx_strlchr(p, last, ':');
        len = (port ? port : last) - p;

        if (port) {
            port++;
        }

        if (len == 0 || ngx_inet_addr(p, len) == INADDR_NONE) {
            goto not_numeric;
        }
    }

    if (port) {
        n = ngx_atoi(port, last - port);
        if (n < 1 || n > 65535) {
            goto invalid;
        }

        rcf->port = (in_port_t) n;

    } else {
        rcf->port = NGX_HTTP_KEFU_REDIS_PORT;
    }

    rcf->host.data = ngx_pnalloc(cf->pool, len + 1);
    if (rcf->host.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(rcf->host.data, p, len);
    rcf->host.data[len] = '\0';
    rcf->host.len = len;

    return NGX_OK;

not_numeric:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "kefu_redis: \"%V\" is not a numeric address; use "
                       "IPv4:port, [IPv6]:port or unix:/path (host names "
                       "would need a blocking DNS lookup in the worker)",
                       addr);
    return NGX_ERROR;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "kefu_redis: invalid address \"%V\"", addr);
    return NGX_ERROR;
}


/* The password never appears in the configuration (nginx -T) nor in
 * any log line; only the file name does. */
static char *
ngx_http_kefu_redis_read_password(ngx_conf_t *cf,
    ngx_http_kefu_redis_conf_t *rcf, ngx_str_t *path)
{
    char             *rv;
    u_char           *buf;
    size_t            len;
    ssize_t           n;
    ngx_str_t         name;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    name = *path;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = name;
    file.log = cf->log;

    file.fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "kefu_redis: cannot open password_file \"%s\"",
                           name.data);
        return NGX_CONF_ERROR;
    }

    rv = NGX_CONF_ERROR;

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%s\" failed", name.data);
        goto done;
    }

    len = (size_t) ngx_file_size(&fi);

    if (len == 0 || len > NGX_HTTP_KEFU_REDIS_PASSWORD_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_redis: password_file \"%s\" must hold "
                           "1 to %d bytes", name.data,
                           NGX_HTTP_KEFU_REDIS_PASSWORD_MAX);
        goto done;
    }

    buf = ngx_pnalloc(cf->pool, len + 1);
    if (buf == NULL) {
        goto done;
    }

    n = ngx_read_file(&file, buf, len, 0);
    if (n == NGX_ERROR) {
        goto done;
    }

    if ((size_t) n != len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_redis: short read of password_file \"%s\"",
                           name.data);
        goto done;
    }

    /* editors add a final newline */
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'
                   || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
    {
        len--;
    }

    if (len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kefu_redis: password_file \"%s\" is empty",
                           name.data);
        goto done;
    }

    buf[len] = '\0';
    rcf->password.data = buf;
    rcf->password.len = len;

    rv = NGX_CONF_OK;

done:

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed", name.data);
    }

    return rv;
}


ngx_int_t
ngx_http_kefu_redis_add_script(ngx_conf_t *cf,
    ngx_http_kefu_redis_conf_t *rcf, const ngx_http_kefu_lua_t *lua)
{
    u_char                        digest[20];
    ngx_sha1_t                    sha1;
    ngx_http_kefu_redis_script_t  *script;

    if (rcf->scripts == NULL) {
        rcf->scripts = ngx_array_create(cf->pool, 8,
                                        sizeof(ngx_http_kefu_redis_script_t));
        if (rcf->scripts == NULL) {
            return NGX_ERROR;
        }
    }

    script = ngx_array_push(rcf->scripts);
    if (script == NULL) {
        return NGX_ERROR;
    }

    /* the embedded text lives as long as the module */
    script->name = lua->name;
    script->source = lua->source;

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, script->source.data, script->source.len);
    ngx_sha1_final(digest, &sha1);

    ngx_hex_dump(script->sha1, digest, 20);
    script->sha1[40] = '\0';

    return rcf->scripts->nelts - 1;
}


/* process life */

ngx_int_t
ngx_http_kefu_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_kefu_redis_conf_t *rcf)
{
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    ngx_memzero(rd, sizeof(ngx_http_kefu_redis_t));

    ngx_queue_init(&rd->wire);
    ngx_queue_init(&rd->done);

    if (rcf == NULL || !rcf->configured) {
        return NGX_OK;
    }

    /* cache manager and loader processes run init_process too */
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    rd->conf = rcf;
    rd->log = cycle->log;
    rd->backoff = NGX_HTTP_KEFU_REDIS_BACKOFF_MIN;

    /* all connection timers are cancelable: a graceful shutdown waits for
     * requests (their command timers), never for the reconnect loop */

    rd->reconnect.handler = ngx_http_kefu_redis_reconnect_handler;
    rd->reconnect.log = cycle->log;
    rd->reconnect.cancelable = 1;

    rd->connect_timer.handler = ngx_http_kefu_redis_connect_timeout;
    rd->connect_timer.log = cycle->log;
    rd->connect_timer.cancelable = 1;

    rd->watchdog.handler = ngx_http_kefu_redis_watchdog;
    rd->watchdog.log = cycle->log;
    rd->watchdog.cancelable = 1;

    ngx_http_kefu_redis_connect();

    return NGX_OK;
}


void
ngx_http_kefu_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_queue_t               *q;
    ngx_http_kefu_redis_t     *rd;
    ngx_http_kefu_redis_op_t  *op;

    rd = &ngx_http_kefu_redis;

    if (rd->conf == NULL) {
        return;
    }

    rd->exiting = 1;

    if (rd->reconnect.timer_set) {
        ngx_del_timer(&rd->reconnect);
    }

    if (rd->watchdog.timer_set) {
        ngx_del_timer(&rd->watchdog);
    }

    /* the worker is going away with its requests: do not call their
     * handlers, just let go of them */

    for (q = ngx_queue_head(&rd->wire);
         q != ngx_queue_sentinel(&rd->wire);
         q = ngx_queue_next(q))
    {
        op = ngx_queue_data(q, ngx_http_kefu_redis_op_t, wire);
        ngx_http_kefu_redis_op_detach(op);
    }

    while (!ngx_queue_empty(&rd->done)) {
        q = ngx_queue_head(&rd->done);
        op = ngx_queue_data(q, ngx_http_kefu_redis_op_t, done);

        ngx_queue_remove(q);
        op->queued = 0;

        ngx_http_kefu_redis_op_detach(op);
        ngx_http_kefu_redis_op_free(op);
    }

    /* frees the context: ops get their NULL replies and are freed,
     * the cleanup hook closes the socket (no "open socket left") */
    ngx_http_kefu_redis_drop(0);

    if (rd->argv) {
        ngx_free(rd->argv);
        ngx_free(rd->argvlen);
        rd->argv = NULL;
        rd->argvlen = NULL;
        rd->nargv = 0;
    }

    rd->conf = NULL;
}


ngx_uint_t
ngx_http_kefu_redis_connected(void)
{
    return ngx_http_kefu_redis.state == NGX_HTTP_KEFU_REDIS_READY;
}


ngx_uint_t
ngx_http_kefu_redis_configured(void)
{
    return ngx_http_kefu_redis.conf != NULL;
}


ngx_http_kefu_redis_stats_t *
ngx_http_kefu_redis_stats(void)
{
    return &ngx_http_kefu_redis.stats;
}


/* connection */

static void
ngx_http_kefu_redis_connect(void)
{
    redisAsyncContext           *ac;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_conf_t  *rcf;

    rd = &ngx_http_kefu_redis;
    rcf = rd->conf;

    if (rd->exiting || ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    if (rd->attempts++) {
        rd->stats.reconnects++;
    }

    if (rcf->unix_path.len) {
        ac = redisAsyncConnectUnix((const char *) rcf->unix_path.data);

    } else {
        ac = redisAsyncConnect((const char *) rcf->host.data, rcf->port);
    }

    if (ac == NULL) {
        ngx_http_kefu_redis_failed(NGX_HTTP_KEFU_REDIS_ECONNECT,
                                   "cannot allocate a context", NULL);
        ngx_http_kefu_redis_schedule();
        return;
    }

    if (ac->err) {
        ngx_http_kefu_redis_failed(NGX_HTTP_KEFU_REDIS_ECONNECT,
                                   "connect failed: %s", ac->errstr);

        /* nothing attached yet: hiredis closes its own socket */
        redisAsyncFree(ac);
        ngx_http_kefu_redis_schedule();
        return;
    }

    if (ngx_http_kefu_redis_attach(ac) != NGX_OK) {
        redisAsyncFree(ac);
        ngx_http_kefu_redis_schedule();
        return;
    }

    /* hiredis 0.14 assert()s on a reply no command waits for (a broken
     * or hostile server): its reader asks us for every reply object, and
     * a reply nobody waits for is refused, which drops the connection */
    if (rd->reply_fn == NULL) {
        rd->reply_fn = ac->c.reader->fn;
        rd->checked_fn = *rd->reply_fn;
        rd->checked_fn.createString = ngx_http_kefu_redis_reply_string;
        rd->checked_fn.createArray = ngx_http_kefu_redis_reply_array;
        rd->checked_fn.createInteger = ngx_http_kefu_redis_reply_integer;
        rd->checked_fn.createNil = ngx_http_kefu_redis_reply_nil;
    }

    ac->c.reader->fn = &rd->checked_fn;
    ac->c.reader->privdata = ac;

    /* after attach: setting the connect callback adds the write event */

    if (redisAsyncSetConnectCallback(ac, ngx_http_kefu_redis_connect_cb)
        != REDIS_OK
        || redisAsyncSetDisconnectCallback(ac,
                                           ngx_http_kefu_redis_disconnect_cb)
           != REDIS_OK)
    {
        /* cannot happen with a fresh context; be safe anyway */
        redisAsyncFree(ac);
        ngx_http_kefu_redis_schedule();
        return;
    }

    rd->ac = ac;
    rd->state = NGX_HTTP_KEFU_REDIS_CONNECTING;

    ngx_add_timer(&rd->connect_timer, rcf->connect_timeout);
}


/*
 * Replies are read one at a time, and a reply's callback is taken off
 * the list only once the reply is complete: a top-level reply object
 * made while the list is empty is one that no command waits for.
 */
static ngx_uint_t
ngx_http_kefu_redis_expected(const redisReadTask *task)
{
    redisAsyncContext  *ac = task->privdata;

    if (task->parent != NULL || ac->replies.head != NULL) {
        return 1;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_http_kefu_redis.log, 0,
                  "kefu_redis: a reply no command waits for: "
                  "closing the connection");

    return 0;
}


static void *
ngx_http_kefu_redis_reply_string(const redisReadTask *task, char *str,
    size_t len)
{
    return ngx_http_kefu_redis_expected(task)
           ? ngx_http_kefu_redis.reply_fn->createString(task, str, len)
           : NULL;
}


static void *
ngx_http_kefu_redis_reply_array(const redisReadTask *task, int elements)
{
    return ngx_http_kefu_redis_expected(task)
           ? ngx_http_kefu_redis.reply_fn->createArray(task, elements)
           : NULL;
}


static void *
ngx_http_kefu_redis_reply_integer(const redisReadTask *task,
    long long value)
{
    return ngx_http_kefu_redis_expected(task)
           ? ngx_http_kefu_redis.reply_fn->createInteger(task, value)
           : NULL;
}


static void *
ngx_http_kefu_redis_reply_nil(const redisReadTask *task)
{
    return ngx_http_kefu_redis_expected(task)
           ? ngx_http_kefu_redis.reply_fn->createNil(task)
           : NULL;
}


static ngx_int_t
ngx_http_kefu_redis_attach(redisAsyncContext *ac)
{
    ngx_connection_t       *c;
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        /* ngx_get_connection() has logged why */
        return NGX_ERROR;
    }

    c->data = ac;
    c->log = rd->log;
    c->read->log = rd->log;
    c->write->log = rd->log;
    c->read->handler = ngx_http_kefu_redis_read_handler;
    c->write->handler = ngx_http_kefu_redis_write_handler;

    ac->ev.data = c;
    ac->ev.addRead = ngx_http_kefu_redis_add_read;
    ac->ev.delRead = ngx_http_kefu_redis_del_read;
    ac->ev.addWrite = ngx_http_kefu_redis_add_write;
    ac->ev.delWrite = ngx_http_kefu_redis_del_write;
    ac->ev.cleanup = ngx_http_kefu_redis_cleanup;

    return NGX_OK;
}


/*
 * Level-triggered, with the same flags on add and delete: deleting one
 * direction with other flags would re-arm the other one edge-triggered.
 */

static void
ngx_http_kefu_redis_add_read(void *data)
{
    ngx_connection_t  *c = data;

    if (c->read->active) {
        return;
    }

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "kefu_redis: cannot add read event");
    }
}


static void
ngx_http_kefu_redis_del_read(void *data)
{
    ngx_connection_t  *c = data;

    if (!c->read->active) {
        return;
    }

    if (ngx_del_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "kefu_redis: cannot delete read event");
    }
}


static void
ngx_http_kefu_redis_add_write(void *data)
{
    ngx_connection_t  *c = data;

    if (c->write->active) {
        return;
    }

    if (ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "kefu_redis: cannot add write event");
    }
}


static void
ngx_http_kefu_redis_del_write(void *data)
{
    ngx_connection_t  *c = data;

    if (!c->write->active) {
        return;
    }

    if (ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "kefu_redis: cannot delete write event");
    }
}


/*
 * hiredis calls this just before it closes ac->c.fd and frees the
 * context.  nginx closes the socket here (removing it from epoll and
 * the posted queues); fd = -1 stops hiredis closing it a second time,
 * possibly after the number was reused by another connection.
 */
static void
ngx_http_kefu_redis_cleanup(void *data)
{
    ngx_connection_t   *c = data;
    redisAsyncContext  *ac;

    if (c == NULL) {
        return;
    }

    ac = c->data;

    ngx_close_connection(c);

    ac->c.fd = -1;
    ac->ev.data = NULL;
}


static void
ngx_http_kefu_redis_read_handler(ngx_event_t *rev)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    c = rev->data;
    ac = c->data;

    if (c->close) {
        ngx_http_kefu_redis_drop(!ngx_exiting);
        return;
    }

    /* may free ac and close c: touch neither afterwards */
    redisAsyncHandleRead(ac);

    ngx_http_kefu_redis_run_done();
}


static void
ngx_http_kefu_redis_write_handler(ngx_event_t *wev)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    c = wev->data;
    ac = c->data;

    /* may free ac and close c: touch neither afterwards */
    redisAsyncHandleWrite(ac);

    ngx_http_kefu_redis_run_done();
}


static void
ngx_http_kefu_redis_connect_cb(const redisAsyncContext *cac, int status)
{
    ngx_str_t                      argv[3];
    ngx_uint_t                     i;
    redisAsyncContext             *ac;
    ngx_http_kefu_redis_t         *rd;
    ngx_http_kefu_redis_conf_t    *rcf;
    ngx_http_kefu_redis_script_t  *script;

    rd = &ngx_http_kefu_redis;
    rcf = rd->conf;

    if (cac != rd->ac) {
        return;
    }

    if (status != REDIS_OK) {
        /* hiredis frees the context after we return, without calling
         * the disconnect callback */
        ngx_http_kefu_redis_failed(NGX_HTTP_KEFU_REDIS_ECONNECT,
                                   "connect failed: %s", cac->errstr);
        ngx_http_kefu_redis_lost(cac);
        return;
    }

    /* hiredis passes its context as const but expects commands on it */
    ac = rd->ac;

    rd->state = NGX_HTTP_KEFU_REDIS_HANDSHAKE;
    rd->handshake = 0;
    rd->step = 0;

    /* requests are only accepted after the whole handshake answered;
     * until then the pipeline holds only these commands */

    if (rcf->password.len) {
        ngx_str_set(&argv[0], "AUTH");
        argv[1] = rcf->password;

        if (ngx_http_kefu_redis_command(ac, ngx_http_kefu_redis_handshake_cb,
                                        NULL, 2, argv)
            != NGX_OK)
        {
            goto failed;
        }

        rd->handshake++;
    }

    if (rcf->db) {
        u_char  db[NGX_INT_T_LEN];

        ngx_str_set(&argv[0], "SELECT");
        argv[1].data = db;
        argv[1].len = ngx_sprintf(db, "%i", rcf->db) - db;

        if (ngx_http_kefu_redis_command(ac, ngx_http_kefu_redis_handshake_cb,
                                        NULL, 2, argv)
            != NGX_OK)
        {
            goto failed;
        }

        rd->handshake++;
    }

    if (rcf->scripts) {
        script = rcf->scripts->elts;

        for (i = 0; i < rcf->scripts->nelts; i++) {
            ngx_str_set(&argv[0], "SCRIPT");
            ngx_str_set(&argv[1], "LOAD");
            argv[2] = script[i].source;

            if (ngx_http_kefu_redis_command(ac,
                                            ngx_http_kefu_redis_handshake_cb,
                                            NULL, 3, argv)
                != NGX_OK)
            {
                goto failed;
            }

            rd->handshake++;
        }
    }

    /* proves the server answers (not -LOADING) before requests come */
    ngx_str_set(&argv[0], "PING");

    if (ngx_http_kefu_redis_command(ac, ngx_http_kefu_redis_handshake_cb,
                                    NULL, 1, argv)
        != NGX_OK)
    {
        goto failed;
    }

    rd->handshake++;

    return;

failed:

    /* out of memory in hiredis.  Freeing here would pull the context
     * from under redisAsyncHandleWrite(): the connect timer drops it. */
    ngx_http_kefu_redis_failed(NGX_HTTP_KEFU_REDIS_ECONNECT,
                               "cannot queue the handshake", NULL);
}


static void
ngx_http_kefu_redis_handshake_cb(redisAsyncContext *ac, void *data,
    void *privdata)
{
    redisReply                    *reply = data;

    ngx_str_t                      detail;
    ngx_uint_t                     step, i;
    ngx_http_kefu_redis_t         *rd;
    ngx_http_kefu_redis_err_e      err;
    ngx_http_kefu_redis_conf_t    *rcf;
    ngx_http_kefu_redis_script_t  *script;

    rd = &ngx_http_kefu_redis;
    rcf = rd->conf;

    if (reply == NULL || ac != rd->ac) {
        /* the context is going away; the disconnect is handled there */
        return;
    }

    step = rd->step++;

    /* which handshake command this reply answers: AUTH?, SELECT?,
     * SCRIPT LOAD x scripts, PING */

    err = NGX_HTTP_KEFU_REDIS_OK;

    if (rcf->password.len) {
        if (step == 0) {
            err = NGX_HTTP_KEFU_REDIS_EAUTH;
            goto check;
        }

        step--;
    }

    if (rcf->db) {
        if (step == 0) {
            err = NGX_HTTP_KEFU_REDIS_ESELECT;
            goto check;
        }

        step--;
    }

    if (rcf->scripts && step < rcf->scripts->nelts) {
        script = rcf->scripts->elts;
        i = step;

        /* the server, not the script, is the problem */

        if (reply->type == REDIS_REPLY_ERROR
            && ngx_strncmp(reply->str, "NOAUTH", 6) == 0)
        {
            err = NGX_HTTP_KEFU_REDIS_EAUTH;
            goto check;
        }

        if (reply->type == REDIS_REPLY_ERROR
            && ngx_strncmp(reply->str, "LOADING", 7) == 0)
        {
            err = NGX_HTTP_KEFU_REDIS_EPING;
            goto check;
        }

        if (reply->type != REDIS_REPLY_STRING
            || reply->len != 40
            || ngx_strncasecmp((u_char *) reply->str, script[i].sha1, 40)
               != 0)
        {
            /* a broken script must not take Redis away from every other
             * endpoint: log it, EVAL will keep reporting the error */
            detail.len = (reply->type == REDIS_REPLY_ERROR) ? reply->len : 0;
            detail.data = (u_char *) reply->str;

            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "kefu_redis %V: SCRIPT LOAD of script %V (%s) "
                          "failed: %V", &rcf->name, &script[i].name,
                          script[i].sha1, &detail);
        }

        goto next;
    }

    err = NGX_HTTP_KEFU_REDIS_EPING;

check:

    if (reply->type == REDIS_REPLY_ERROR) {
        switch (err) {

        case NGX_HTTP_KEFU_REDIS_EAUTH:
            ngx_http_kefu_redis_failed(err, "authentication failed (check "
                                       "password_file): %s", reply->str);
            break;

        case NGX_HTTP_KEFU_REDIS_EPING:
            if (ngx_strncmp(reply->str, "NOAUTH", 6) == 0) {
                ngx_http_kefu_redis_failed(NGX_HTTP_KEFU_REDIS_EAUTH,
                                           "authentication failed (Redis "
                                           "wants a password_file): %s",
                                           reply->str);
                break;
            }

            ngx_http_kefu_redis_failed(err, "server not ready: %s",
                                       reply->str);
            break;

        case NGX_HTTP_KEFU_REDIS_ESELECT:
            ngx_http_kefu_redis_failed(err, "SELECT failed: %s", reply->str);
            break;

        default:
            ngx_http_kefu_redis_failed(err, "server not ready: %s",
                                       reply->str);
            break;
        }

        /* freeing from inside a callback is deferred by hiredis until
         * this callback returns; the reconnect comes from a timer */
        rd->ac = NULL;
        rd->state = NGX_HTTP_KEFU_REDIS_DOWN;

        if (rd->connect_timer.timer_set) {
            ngx_del_timer(&rd->connect_timer);
        }

        redisAsyncFree(ac);
        ngx_http_kefu_redis_schedule();
        return;
    }

next:

    if (rd->step < rd->handshake) {
        return;
    }

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    rd->state = NGX_HTTP_KEFU_REDIS_READY;
    rd->backoff = NGX_HTTP_KEFU_REDIS_BACKOFF_MIN;

    if (rd->last_error != NGX_HTTP_KEFU_REDIS_OK) {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "kefu_redis %V: connected", &rcf->name);
        rd->last_error = NGX_HTTP_KEFU_REDIS_OK;

    } else {
        ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                      "kefu_redis %V: connected", &rcf->name);
    }
}


static void
ngx_http_kefu_redis_disconnect_cb(const redisAsyncContext *ac, int status)
{
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    if (ac != rd->ac) {
        /* we dropped it ourselves */
        return;
    }

    ngx_http_kefu_redis_failed(NGX_HTTP_KEFU_REDIS_ELOST,
                               "connection lost: %s",
                               ac->errstr ? ac->errstr : "closed by server");
    ngx_http_kefu_redis_lost(ac);
}


/* logs a connection failure: a new reason as an error, repeats quietly */
static void
ngx_http_kefu_redis_failed(ngx_http_kefu_redis_err_e err, const char *fmt,
    const char *detail)
{
    u_char                  msg[NGX_MAX_ERROR_STR];
    ngx_uint_t              level;
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    rd->stats.errors++;

    if (rd->exiting) {
        return;
    }

    level = (err == rd->last_error) ? NGX_LOG_INFO : NGX_LOG_ERR;
    rd->last_error = err;

    if (level > rd->log->log_level) {
        return;
    }

    *ngx_snprintf(msg, sizeof(msg) - 1, fmt, detail ? detail : "") = '\0';

    ngx_log_error(level, rd->log, 0, "kefu_redis %V: %s",
                  &rd->conf->name, msg);
}


/* the context is being freed by hiredis */
static void
ngx_http_kefu_redis_lost(const redisAsyncContext *ac)
{
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    if (ac != rd->ac) {
        return;
    }

    rd->ac = NULL;
    rd->state = NGX_HTTP_KEFU_REDIS_DOWN;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    /* inside a hiredis callback: reconnect later, from a timer */
    ngx_http_kefu_redis_schedule();
}


/* Frees the context from an nginx event (never from a hiredis
 * callback); pending commands fail. */
static void
ngx_http_kefu_redis_drop(ngx_uint_t reconnect)
{
    redisAsyncContext      *ac;
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    ac = rd->ac;

    rd->ac = NULL;
    rd->state = NGX_HTTP_KEFU_REDIS_DOWN;

    if (ac) {
        redisAsyncFree(ac);
    }

    if (reconnect) {
        ngx_http_kefu_redis_schedule();
    }

    ngx_http_kefu_redis_run_done();
}


/* exponential backoff with +-25% jitter, so that the workers of all
 * nginx instances do not hammer a restarting Redis in step */
static void
ngx_http_kefu_redis_schedule(void)
{
    ngx_msec_t              delay;
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    if (rd->exiting || ngx_exiting || ngx_quit || ngx_terminate
        || rd->reconnect.timer_set)
    {
        return;
    }

    delay = rd->backoff * (75 + (ngx_msec_t) (ngx_random() % 51)) / 100;

    if (delay > NGX_HTTP_KEFU_REDIS_BACKOFF_MAX) {
        delay = NGX_HTTP_KEFU_REDIS_BACKOFF_MAX;
    }

    rd->backoff *= 2;
    if (rd->backoff > NGX_HTTP_KEFU_REDIS_BACKOFF_MAX) {
        rd->backoff = NGX_HTTP_KEFU_REDIS_BACKOFF_MAX;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "kefu_redis: reconnect in %M ms", delay);

    ngx_add_timer(&rd->reconnect, delay);
}


static void
ngx_http_kefu_redis_reconnect_handler(ngx_event_t *ev)
{
    if (ngx_http_kefu_redis.ac) {
        return;
    }

    ngx_http_kefu_redis_connect();
}


static void
ngx_http_kefu_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_kefu_redis_failed(NGX_HTTP_KEFU_REDIS_ETIMEDOUT,
                               "connect or handshake timed out", NULL);
    ngx_http_kefu_redis_drop(1);
}


/* Redis answers in order: if the oldest command is long overdue, the
 * server or the network is stuck and every later command waits too. */
static void
ngx_http_kefu_redis_watchdog(ngx_event_t *ev)
{
    ngx_msec_t                 limit, age;
    ngx_http_kefu_redis_t     *rd;
    ngx_http_kefu_redis_op_t  *op;

    rd = &ngx_http_kefu_redis;

    if (ngx_queue_empty(&rd->wire) || rd->ac == NULL) {
        return;
    }

    op = ngx_queue_data(ngx_queue_head(&rd->wire), ngx_http_kefu_redis_op_t,
                        wire);

    limit = rd->conf->timeout * (1 + NGX_HTTP_KEFU_REDIS_STALL);
    age = ngx_current_msec - op->sent;

    if (age < limit) {
        ngx_add_timer(&rd->watchdog, limit - age);
        return;
    }

    ngx_http_kefu_redis_failed(NGX_HTTP_KEFU_REDIS_ESTALL,
                               "no reply for too long, reconnecting", NULL);
    ngx_http_kefu_redis_drop(1);
}


/* commands */

static ngx_int_t
ngx_http_kefu_redis_command(redisAsyncContext *ac, redisCallbackFn *fn,
    void *privdata, ngx_uint_t argc, ngx_str_t *argv)
{
    size_t                 *argvlen;
    ngx_uint_t              i, n;
    const char            **av;
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    if (argc > rd->nargv) {
        n = ngx_max(argc, 32);

        av = ngx_alloc(n * sizeof(char *), rd->log);
        if (av == NULL) {
            return NGX_ERROR;
        }

        argvlen = ngx_alloc(n * sizeof(size_t), rd->log);
        if (argvlen == NULL) {
            ngx_free(av);
            return NGX_ERROR;
        }

        if (rd->argv) {
            ngx_free(rd->argv);
            ngx_free(rd->argvlen);
        }

        rd->argv = av;
        rd->argvlen = argvlen;
        rd->nargv = n;
    }

    for (i = 0; i < argc; i++) {
        /* hiredis copies with memcpy(): never hand it NULL */
        rd->argv[i] = argv[i].len ? (const char *) argv[i].data : "";
        rd->argvlen[i] = argv[i].len;
    }

    if (redisAsyncCommandArgv(ac, fn, privdata, (int) argc, rd->argv,
                              rd->argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_kefu_redis_send(ngx_http_request_t *r,
    ngx_http_kefu_redis_cmd_t *cmds, ngx_uint_t n,
    ngx_http_kefu_redis_handler_pt handler, void *data)
{
    ngx_uint_t                 i;
    ngx_http_kefu_redis_t     *rd;
    ngx_http_kefu_redis_op_t  *op;

    rd = &ngx_http_kefu_redis;

    if (rd->conf == NULL || n == 0) {
        return NGX_DECLINED;
    }

    if (rd->state != NGX_HTTP_KEFU_REDIS_READY
        || rd->stats.pending + n > rd->conf->max_pending)
    {
        rd->stats.rejected++;
        return NGX_DECLINED;
    }

    op = ngx_http_kefu_redis_op_create(r, n, handler, data);
    if (op == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_kefu_redis_command(rd->ac, ngx_http_kefu_redis_reply_cb,
                                        op, cmds[i].argc, cmds[i].argv)
            != NGX_OK)
        {
            break;
        }

        op->outstanding++;
        rd->stats.pending++;
    }

    rd->stats.commands += op->outstanding;

    if (i < n) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kefu_redis: cannot queue a command");

        /* the caller answers now: never call its handler; commands
         * already queued still hold op until their replies arrive */
        ngx_http_kefu_redis_op_detach(op);

        if (op->outstanding == 0) {
            ngx_http_kefu_redis_op_free(op);

        } else {
            op->sent = ngx_current_msec;
            ngx_queue_insert_tail(&rd->wire, &op->wire);
        }

        return NGX_ERROR;
    }

    ngx_http_kefu_redis_op_start(op);

    return NGX_OK;
}


ngx_int_t
ngx_http_kefu_redis_eval(ngx_http_request_t *r, ngx_uint_t script,
    ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_kefu_redis_handler_pt handler, void *data)
{
    u_char                    *p;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_str_t                 *av;
    ngx_http_kefu_redis_op_t  *op;

    rc = ngx_http_kefu_redis_eval_check(r->connection->log, script, nkeys,
                                        argc, argv, &len);
    if (rc != NGX_OK) {
        return rc;
    }

    /* copied to the pool because a NOSCRIPT reply makes us send the same
     * arguments again as EVAL, later */
    av = ngx_palloc(r->pool, (argc + 3) * sizeof(ngx_str_t));
    p = ngx_pnalloc(r->pool, len);
    if (av == NULL || p == NULL) {
        return NGX_ERROR;
    }

    op = ngx_http_kefu_redis_op_create(r, 1, handler, data);
    if (op == NULL) {
        return NGX_ERROR;
    }

    ngx_http_kefu_redis_eval_argv(op, av, p, script, nkeys, argc, argv);

    if (ngx_http_kefu_redis_eval_queue(op) != NGX_OK) {
        ngx_http_kefu_redis_op_detach(op);
        ngx_http_kefu_redis_op_free(op);
        return NGX_ERROR;
    }

    ngx_http_kefu_redis_op_start(op);

    return NGX_OK;
}


/*
 * A script nobody waits for (the per-worker counters): the op owns a
 * copy of its arguments and lives until the reply, which is only
 * checked for errors.  Its timer is not cancelable either, so that a
 * graceful shutdown lets the last write land.
 */
ngx_int_t
ngx_http_kefu_redis_eval_detached(ngx_uint_t script, ngx_uint_t nkeys,
    ngx_uint_t argc, ngx_str_t *argv)
{
    size_t                     len;
    ngx_int_t                  rc;
    ngx_str_t                 *av;
    ngx_http_kefu_redis_t     *rd;
    ngx_http_kefu_redis_op_t  *op;

    rd = &ngx_http_kefu_redis;

    rc = ngx_http_kefu_redis_eval_check(rd->log, script, nkeys, argc, argv,
                                        &len);
    if (rc != NGX_OK) {
        return rc;
    }

    op = ngx_alloc(sizeof(ngx_http_kefu_redis_op_t)
                   + (argc + 3) * sizeof(ngx_str_t) + len, rd->log);
    if (op == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(op, sizeof(ngx_http_kefu_redis_op_t));

    av = (ngx_str_t *) (op + 1);
    ngx_http_kefu_redis_eval_argv(op, av, (u_char *) (av + argc + 3), script,
                                  nkeys, argc, argv);
    op->n = 1;
    op->detached = 1;

    if (ngx_http_kefu_redis_eval_queue(op) != NGX_OK) {
        ngx_free(op);
        return NGX_ERROR;
    }

    op->sent = ngx_current_msec;
    ngx_queue_insert_tail(&rd->wire, &op->wire);

    op->timer.handler = ngx_http_kefu_redis_detached_timeout;
    op->timer.data = op;
    op->timer.log = rd->log;

    ngx_add_timer(&op->timer, rd->conf->timeout);

    if (!rd->watchdog.timer_set) {
        ngx_add_timer(&rd->watchdog,
                      rd->conf->timeout * (1 + NGX_HTTP_KEFU_REDIS_STALL));
    }

    return NGX_OK;
}


/* NGX_OK with the bytes an EVALSHA's arguments need, or why not */
static ngx_int_t
ngx_http_kefu_redis_eval_check(ngx_log_t *log, ngx_uint_t script,
    ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv, size_t *len)
{
    ngx_uint_t              i;
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    if (rd->conf == NULL) {
        return NGX_DECLINED;
    }

    if (rd->conf->scripts == NULL || script >= rd->conf->scripts->nelts
        || nkeys > argc)
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "kefu_redis: bad eval of script %ui", script);
        return NGX_ERROR;
    }

    if (rd->state != NGX_HTTP_KEFU_REDIS_READY
        || rd->stats.pending + 1 > rd->conf->max_pending)
    {
        rd->stats.rejected++;
        return NGX_DECLINED;
    }

    *len = NGX_INT_T_LEN;

    for (i = 0; i < argc; i++) {
        *len += argv[i].len;
    }

    return NGX_OK;
}


/* EVALSHA sha numkeys args... into av and p, for op and its retry */
static void
ngx_http_kefu_redis_eval_argv(ngx_http_kefu_redis_op_t *op, ngx_str_t *av,
    u_char *p, ngx_uint_t script, ngx_uint_t nkeys, ngx_uint_t argc,
    ngx_str_t *argv)
{
    ngx_uint_t                     i;
    ngx_http_kefu_redis_script_t  *s;

    s = ngx_http_kefu_redis.conf->scripts->elts;

    av[0] = ngx_http_kefu_redis_evalsha;
    av[1].data = s[script].sha1;
    av[1].len = 40;
    av[2].data = p;
    p = ngx_sprintf(p, "%ui", nkeys);
    av[2].len = p - av[2].data;

    for (i = 0; i < argc; i++) {
        av[i + 3].data = p;
        av[i + 3].len = argv[i].len;

        /* an empty argument may come as { 0, NULL } */
        if (argv[i].len) {
            p = ngx_cpymem(p, argv[i].data, argv[i].len);
        }
    }

    op->eval = av;
    op->eval_argc = argc + 3;
    op->script = script;
}


static ngx_int_t
ngx_http_kefu_redis_eval_queue(ngx_http_kefu_redis_op_t *op)
{
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    if (ngx_http_kefu_redis_command(rd->ac, ngx_http_kefu_redis_reply_cb, op,
                                    op->eval_argc, op->eval)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "kefu_redis: cannot queue a command");
        return NGX_ERROR;
    }

    op->outstanding = 1;
    rd->stats.pending++;
    rd->stats.commands++;

    return NGX_OK;
}


static ngx_http_kefu_redis_op_t *
ngx_http_kefu_redis_op_create(ngx_http_request_t *r, ngx_uint_t n,
    ngx_http_kefu_redis_handler_pt handler, void *data)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_kefu_redis_op_t  *op;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    op = ngx_alloc(sizeof(ngx_http_kefu_redis_op_t), r->connection->log);
    if (op == NULL) {
        return NULL;
    }

    ngx_memzero(op, sizeof(ngx_http_kefu_redis_op_t));

    op->replies = ngx_pcalloc(r->pool,
                              n * sizeof(ngx_http_kefu_redis_reply_t *));
    if (op->replies == NULL) {
        ngx_free(op);
        return NULL;
    }

    op->r = r;
    op->cln = cln;
    op->handler = handler;
    op->data = data;
    op->n = n;
    op->waiting = 1;

    cln->handler = ngx_http_kefu_redis_op_cleanup;
    cln->data = op;

    return op;
}


static void
ngx_http_kefu_redis_op_start(ngx_http_kefu_redis_op_t *op)
{
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    op->sent = ngx_current_msec;
    ngx_queue_insert_tail(&rd->wire, &op->wire);

    /* not cancelable: a graceful shutdown waits for this request */
    op->timer.handler = ngx_http_kefu_redis_op_timeout;
    op->timer.data = op;
    op->timer.log = op->r->connection->log;

    ngx_add_timer(&op->timer, rd->conf->timeout);

    if (!rd->watchdog.timer_set) {
        ngx_add_timer(&rd->watchdog,
                      rd->conf->timeout * (1 + NGX_HTTP_KEFU_REDIS_STALL));
    }
}


/* the request's pool is going away: never touch the request again */
static void
ngx_http_kefu_redis_op_cleanup(void *data)
{
    ngx_http_kefu_redis_op_t  *op = data;

    op->cln = NULL;
    ngx_http_kefu_redis_op_detach(op);

    if (op->queued) {
        ngx_queue_remove(&op->done);
        op->queued = 0;
    }

    ngx_http_kefu_redis_op_free(op);
}


static void
ngx_http_kefu_redis_op_detach(ngx_http_kefu_redis_op_t *op)
{
    if (op->cln) {
        op->cln->handler = NULL;
        op->cln = NULL;
    }

    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    op->r = NULL;
    op->waiting = 0;
}


/* frees op once nobody refers to it any more */
static void
ngx_http_kefu_redis_op_free(ngx_http_kefu_redis_op_t *op)
{
    if (op->waiting || op->queued || op->outstanding) {
        return;
    }

    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    ngx_free(op);
}


static void
ngx_http_kefu_redis_detached_timeout(ngx_event_t *ev)
{
    ngx_http_kefu_redis_op_t  *op = ev->data;

    /* the reply may still come; the watchdog drops a stalled server */
    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "kefu_redis: script %ui timed out after %M ms", op->script,
                  ngx_http_kefu_redis.conf->timeout);

    ngx_http_kefu_redis.stats.timeouts++;
}


/* called from hiredis callbacks: only queue the handler call */
static void
ngx_http_kefu_redis_op_finish(ngx_http_kefu_redis_op_t *op, ngx_int_t rc)
{
    if (!op->waiting) {
        return;
    }

    if (op->timer.timer_set) {
        ngx_del_timer(&op->timer);
    }

    op->rc = rc;
    op->waiting = 0;
    op->queued = 1;

    ngx_queue_insert_tail(&ngx_http_kefu_redis.done, &op->done);
}


static void
ngx_http_kefu_redis_op_timeout(ngx_event_t *ev)
{
    ngx_connection_t                *c;
    ngx_http_request_t              *r;
    ngx_http_kefu_redis_op_t        *op;
    ngx_http_kefu_redis_handler_pt   handler;

    op = ev->data;
    r = op->r;
    c = r->connection;
    handler = op->handler;

    ngx_log_error(NGX_LOG_ERR, c->log, 0,
                  "kefu_redis: command timed out after %M ms",
                  ngx_http_kefu_redis.conf->timeout);

    ngx_http_kefu_redis.stats.timeouts++;

    /* the replies may still come: op stays with hiredis until then */
    ngx_http_kefu_redis_op_detach(op);

    handler(r, op->data, NGX_ERROR, NULL, 0);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_kefu_redis_reply_cb(redisAsyncContext *ac, void *data,
    void *privdata)
{
    ngx_uint_t                    noscript;
    redisReply                   *reply = data;
    ngx_http_kefu_redis_op_t     *op = privdata;
    ngx_http_kefu_redis_reply_t  *copy;

    op->outstanding--;
    ngx_http_kefu_redis.stats.pending--;

    /* the script cache was flushed (restart, SCRIPT FLUSH) */
    noscript = reply != NULL && op->eval && !op->retried
               && reply->type == REDIS_REPLY_ERROR && reply->len >= 8
               && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0;

    if (op->detached) {
        /* NULL: disconnected, the counters are lost with the batch */
        if (reply != NULL && reply->type == REDIS_REPLY_ERROR
            && (!noscript || ngx_http_kefu_redis_eval_retry(ac, op, reply)
                             != NGX_OK))
        {
            ngx_log_error(NGX_LOG_ERR, ngx_http_kefu_redis.log, 0,
                          "kefu_redis: script %ui failed: %*s", op->script,
                          (size_t) reply->len, reply->str);
        }

    } else if (op->waiting) {

        if (reply == NULL) {
            /* disconnected: the rest of the batch fails the same way */
            ngx_http_kefu_redis_op_finish(op, NGX_ERROR);

        } else if (noscript) {
            if (ngx_http_kefu_redis_eval_retry(ac, op, reply) != NGX_OK) {
                ngx_http_kefu_redis_op_finish(op, NGX_ERROR);
            }

        } else {
            copy = ngx_http_kefu_redis_copy(op->r->pool, reply);

            if (copy == NULL) {
                ngx_http_kefu_redis_op_finish(op, NGX_ERROR);

            } else {
                op->replies[op->received++] = copy;

                if (op->received == op->n) {
                    ngx_http_kefu_redis_op_finish(op, NGX_OK);
                }
            }
        }
    }

    if (op->outstanding == 0) {
        ngx_queue_remove(&op->wire);
        ngx_http_kefu_redis_op_free(op);
    }
}


/* the script cache was flushed (restart, SCRIPT FLUSH): send the source
 * once; Redis caches it again */
static ngx_int_t
ngx_http_kefu_redis_eval_retry(redisAsyncContext *ac,
    ngx_http_kefu_redis_op_t *op, redisReply *reply)
{
    ngx_http_kefu_redis_t         *rd;
    ngx_http_kefu_redis_script_t  *s;

    rd = &ngx_http_kefu_redis;

    if (ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)) {
        return NGX_ERROR;
    }

    s = rd->conf->scripts->elts;

    op->eval[0] = ngx_http_kefu_redis_eval_cmd;
    op->eval[1] = s[op->script].source;
    op->retried = 1;

    if (ngx_http_kefu_redis_command(ac, ngx_http_kefu_redis_reply_cb, op,
                                    op->eval_argc, op->eval)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    op->outstanding++;
    rd->stats.pending++;
    rd->stats.commands++;

    /* it is now at the end of the pipeline */
    ngx_queue_remove(&op->wire);
    ngx_queue_insert_tail(&rd->wire, &op->wire);
    op->sent = ngx_current_msec;

    return NGX_OK;
}


/* a deep, binary-safe copy: hiredis frees its reply after the callback */
static ngx_http_kefu_redis_reply_t *
ngx_http_kefu_redis_copy(ngx_pool_t *pool, redisReply *reply)
{
    size_t                        i;
    ngx_http_kefu_redis_reply_t  *copy;

    copy = ngx_pcalloc(pool, sizeof(ngx_http_kefu_redis_reply_t));
    if (copy == NULL) {
        return NULL;
    }

    copy->type = reply->type;

    switch (reply->type) {

    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        copy->str.data = ngx_pnalloc(pool, reply->len + 1);
        if (copy->str.data == NULL) {
            return NULL;
        }

        ngx_memcpy(copy->str.data, reply->str, reply->len);
        copy->str.data[reply->len] = '\0';
        copy->str.len = reply->len;
        break;

    case REDIS_REPLY_INTEGER:
        copy->integer = reply->integer;
        break;

    case REDIS_REPLY_ARRAY:
        copy->elements = reply->elements;

        if (reply->elements == 0) {
            break;
        }

        copy->element = ngx_palloc(pool, reply->elements
                                   * sizeof(ngx_http_kefu_redis_reply_t *));
        if (copy->element == NULL) {
            return NULL;
        }

        /* hiredis bounds the nesting depth of what it parses */
        for (i = 0; i < reply->elements; i++) {
            copy->element[i] = ngx_http_kefu_redis_copy(pool,
                                                        reply->element[i]);
            if (copy->element[i] == NULL) {
                return NULL;
            }
        }

        break;

    default: /* REDIS_REPLY_NIL */
        break;
    }

    return copy;
}


/*
 * Calls the handlers of finished batches, from the connection's own
 * event and outside any hiredis callback, then runs the requests they
 * posted (the handler may have finalized r: keep its connection).
 */
static void
ngx_http_kefu_redis_run_done(void)
{
    ngx_int_t                        rc;
    ngx_uint_t                       n;
    ngx_queue_t                     *q;
    ngx_connection_t                *c;
    ngx_http_request_t              *r;
    ngx_http_kefu_redis_t           *rd;
    ngx_http_kefu_redis_op_t        *op;
    ngx_http_kefu_redis_reply_t    **replies;
    ngx_http_kefu_redis_handler_pt   handler;
    void                            *data;

    rd = &ngx_http_kefu_redis;

    while (!ngx_queue_empty(&rd->done)) {
        q = ngx_queue_head(&rd->done);
        op = ngx_queue_data(q, ngx_http_kefu_redis_op_t, done);

        ngx_queue_remove(q);
        op->queued = 0;

        r = op->r;
        rc = op->rc;
        handler = op->handler;
        data = op->data;
        replies = op->replies;
        n = (rc == NGX_OK) ? op->n : 0;

        ngx_http_kefu_redis_op_detach(op);
        ngx_http_kefu_redis_op_free(op);

        if (r == NULL) {
            continue;
        }

        c = r->connection;

        handler(r, data, rc, (rc == NGX_OK) ? replies : NULL, n);
        ngx_http_run_posted_requests(c);
    }
}


/*
 * Error replies that say "not now": the server is loading its data, busy
 * with a script, over maxmemory, failing over, or short of replicas;
 * NOSCRIPT only reaches a handler when its EVAL fallback could not be
 * sent.  Everything else (ERR, WRONGTYPE, a script's own error, MOVED
 * and ASK without cluster support, NOPERM) repeats on every retry.
 */
ngx_uint_t
ngx_http_kefu_redis_error_transient(ngx_str_t *err)
{
    size_t       len;
    ngx_uint_t   i;

    static ngx_str_t  transient[] = {
        ngx_string("LOADING"), ngx_string("BUSY"), ngx_string("OOM"),
        ngx_string("NOSCRIPT"), ngx_string("MASTERDOWN"),
        ngx_string("TRYAGAIN"), ngx_string("CLUSTERDOWN"),
        ngx_string("NOREPLICAS"), ngx_string("READONLY"),
        ngx_string("MISCONF"), ngx_null_string
    };

    for (i = 0; transient[i].len; i++) {
        len = transient[i].len;

        if (err->len >= len
            && ngx_strncmp(err->data, transient[i].data, len) == 0
            && (err->len == len || err->data[len] == ' '))
        {
            return 1;
        }
    }

    return 0;
}
