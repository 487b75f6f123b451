/*
 * ngx_kefu: one Redis connection's life: connect, handshake (AUTH,
 * SELECT, SCRIPT LOAD, PING), loss, reconnection with backoff, and the
 * watchdog that drops a connection whose replies stopped coming.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_kefu_redis_int.h"


static void ngx_http_kefu_redis_connect_cb(const redisAsyncContext *ac,
    int status);
static void ngx_http_kefu_redis_disconnect_cb(const redisAsyncContext *ac,
    int status);
static void ngx_http_kefu_redis_handshake_cb(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_kefu_redis_failed(ngx_http_kefu_redis_conn_t *conn,
    ngx_http_kefu_redis_err_e err, const char *fmt, const char *detail);
static void ngx_http_kefu_redis_lost(ngx_http_kefu_redis_conn_t *conn,
    const redisAsyncContext *ac);
static void ngx_http_kefu_redis_schedule(ngx_http_kefu_redis_conn_t *conn);
static void ngx_http_kefu_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_kefu_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_kefu_redis_watchdog(ngx_event_t *ev);


/* all connection timers are cancelable: a graceful shutdown waits for
 * requests (their command timers), never for the reconnect loop */
void
ngx_http_kefu_redis_conn_init(ngx_http_kefu_redis_conn_t *conn,
    ngx_http_kefu_redis_node_t *node, ngx_uint_t durable)
{
    ngx_log_t  *log;

    log = ngx_http_kefu_redis.log;

    ngx_memzero(conn, sizeof(ngx_http_kefu_redis_conn_t));

    conn->node = node;
    conn->durable = durable;
    conn->backoff = NGX_HTTP_KEFU_REDIS_BACKOFF_MIN;
    ngx_queue_init(&conn->wire);
    ngx_queue_init(&conn->waits);

    conn->reconnect.handler = ngx_http_kefu_redis_reconnect_handler;
    conn->reconnect.data = conn;
    conn->reconnect.log = log;
    conn->reconnect.cancelable = 1;

    conn->connect_timer.handler = ngx_http_kefu_redis_connect_timeout;
    conn->connect_timer.data = conn;
    conn->connect_timer.log = log;
    conn->connect_timer.cancelable = 1;

    conn->watchdog.handler = ngx_http_kefu_redis_watchdog;
    conn->watchdog.data = conn;
    conn->watchdog.log = log;
    conn->watchdog.cancelable = 1;
}


void
ngx_http_kefu_redis_connect(ngx_http_kefu_redis_conn_t *conn)
{
    redisAsyncContext           *ac;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_addr_t  *ra;

    rd = &ngx_http_kefu_redis;
    ra = &conn->node->addr;

    if (rd->exiting || ngx_exiting || ngx_quit || ngx_terminate
        || conn->ac != NULL)
    {
        return;
    }

    if (conn->reconnect.timer_set) {
        ngx_del_timer(&conn->reconnect);
    }

    if (conn->attempts++) {
        rd->stats.reconnects++;
    }

    if (ra->unix_path.len) {
        ac = redisAsyncConnectUnix((const char *) ra->unix_path.data);

    } else {
        ac = redisAsyncConnect((const char *) ra->host.data, ra->port);
    }

    if (ac == NULL) {
        ngx_http_kefu_redis_failed(conn, NGX_HTTP_KEFU_REDIS_ECONNECT,
                                   "cannot allocate a context", NULL);
        ngx_http_kefu_redis_schedule(conn);
        return;
    }

    if (ac->err) {
        ngx_http_kefu_redis_failed(conn, NGX_HTTP_KEFU_REDIS_ECONNECT,
                                   "connect failed: %s", ac->errstr);

        /* nothing attached yet: hiredis closes its own socket */
        redisAsyncFree(ac);
        ngx_http_kefu_redis_schedule(conn);
        return;
    }

    if (ngx_http_kefu_redis_attach(conn, ac) != NGX_OK) {
        redisAsyncFree(ac);
        ngx_http_kefu_redis_schedule(conn);
        return;
    }

    /* after attach: setting the connect callback adds the write event */

    if (redisAsyncSetConnectCallback(ac, ngx_http_kefu_redis_connect_cb)
        != REDIS_OK
        || redisAsyncSetDisconnectCallback(ac,
                                           ngx_http_kefu_redis_disconnect_cb)
           != REDIS_OK)
    {
        /* cannot happen with a fresh context; be safe anyway */
        redisAsyncFree(ac);
        ngx_http_kefu_redis_schedule(conn);
        return;
    }

    conn->ac = ac;
    conn->state = NGX_HTTP_KEFU_REDIS_CONNECTING;

    ngx_add_timer(&conn->connect_timer, rd->conf->connect_timeout);
}


static void
ngx_http_kefu_redis_connect_cb(const redisAsyncContext *cac, int status)
{
    ngx_str_t                      argv[3];
    ngx_uint_t                     i, n;
    redisAsyncContext             *ac;
    ngx_http_kefu_redis_conn_t    *conn;
    ngx_http_kefu_redis_conf_t    *rcf;
    ngx_http_kefu_redis_script_t  *script;

    conn = cac->data;
    rcf = ngx_http_kefu_redis.conf;

    if (conn == NULL || cac != conn->ac) {
        return;
    }

    if (status != REDIS_OK) {
        /* hiredis frees the context after we return, without calling
         * the disconnect callback */
        ngx_http_kefu_redis_failed(conn, NGX_HTTP_KEFU_REDIS_ECONNECT,
                                   "connect failed: %s", cac->errstr);
        ngx_http_kefu_redis_lost(conn, cac);
        return;
    }

    /* hiredis passes its context as const but expects commands on it */
    ac = conn->ac;

    conn->state = NGX_HTTP_KEFU_REDIS_HANDSHAKE;
    conn->handshake = 0;
    conn->step = 0;

    /* requests are only accepted after the whole handshake answered;
     * until then the pipeline holds only these commands */

    if (rcf->password.len) {
        /* AUTH [user] password: an ACL user (Redis 6), or "default" */
        n = 1;
        ngx_str_set(&argv[0], "AUTH");

        if (rcf->user.len) {
            argv[n++] = rcf->user;
        }

        argv[n++] = rcf->password;

        if (ngx_http_kefu_redis_command(ac, ngx_http_kefu_redis_handshake_cb,
                                        NULL, n, argv)
            != NGX_OK)
        {
            goto failed;
        }

        conn->handshake++;
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

        conn->handshake++;
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

            conn->handshake++;
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

    conn->handshake++;

    return;

failed:

    /* out of memory in hiredis.  Freeing here would pull the context
     * from under redisAsyncHandleWrite(): the connect timer drops it. */
    ngx_http_kefu_redis_failed(conn, NGX_HTTP_KEFU_REDIS_ECONNECT,
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
    ngx_http_kefu_redis_conn_t    *conn;
    ngx_http_kefu_redis_conf_t    *rcf;
    ngx_http_kefu_redis_script_t  *script;

    rd = &ngx_http_kefu_redis;
    rcf = rd->conf;
    conn = ac->data;

    if (reply == NULL || conn == NULL || ac != conn->ac) {
        /* the context is going away; the disconnect is handled there */
        return;
    }

    step = conn->step++;

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
                          "failed: %V", &conn->node->addr.name,
                          &script[i].name, script[i].sha1, &detail);
        }

        goto next;
    }

    err = NGX_HTTP_KEFU_REDIS_EPING;

check:

    if (reply->type == REDIS_REPLY_ERROR) {
        switch (err) {

        case NGX_HTTP_KEFU_REDIS_EAUTH:
            ngx_http_kefu_redis_failed(conn, err, "authentication failed "
                                       "(check user= and password_file): %s",
                                       reply->str);
            break;

        case NGX_HTTP_KEFU_REDIS_EPING:
            if (ngx_strncmp(reply->str, "NOAUTH", 6) == 0) {
                ngx_http_kefu_redis_failed(conn, NGX_HTTP_KEFU_REDIS_EAUTH,
                                           "authentication failed (Redis "
                                           "wants a password_file): %s",
                                           reply->str);
                break;
            }

            ngx_http_kefu_redis_failed(conn, err, "server not ready: %s",
                                       reply->str);
            break;

        case NGX_HTTP_KEFU_REDIS_ESELECT:
            ngx_http_kefu_redis_failed(conn, err, "SELECT failed: %s",
                                       reply->str);
            break;

        default:
            ngx_http_kefu_redis_failed(conn, err, "server not ready: %s",
                                       reply->str);
            break;
        }

        /* freeing from inside a callback is deferred by hiredis until
         * this callback returns; the reconnect comes from a timer */
        conn->ac = NULL;
        conn->state = NGX_HTTP_KEFU_REDIS_DOWN;

        if (conn->connect_timer.timer_set) {
            ngx_del_timer(&conn->connect_timer);
        }

        ac->data = NULL;
        redisAsyncFree(ac);
        ngx_http_kefu_redis_schedule(conn);
        return;
    }

next:

    if (conn->step < conn->handshake) {
        return;
    }

    if (conn->connect_timer.timer_set) {
        ngx_del_timer(&conn->connect_timer);
    }

    conn->state = NGX_HTTP_KEFU_REDIS_READY;
    conn->backoff = NGX_HTTP_KEFU_REDIS_BACKOFF_MIN;
    conn->generation++;

    if (conn->last_error != NGX_HTTP_KEFU_REDIS_OK) {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "kefu_redis %V: connected", &conn->node->addr.name);
        conn->last_error = NGX_HTTP_KEFU_REDIS_OK;

    } else {
        ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                      "kefu_redis %V: connected", &conn->node->addr.name);
    }

    /* inside a hiredis callback: only timers are set there */
    ngx_http_kefu_redis_ready(conn);
}


static void
ngx_http_kefu_redis_disconnect_cb(const redisAsyncContext *ac, int status)
{
    ngx_http_kefu_redis_conn_t  *conn;

    conn = ac->data;

    if (conn == NULL || ac != conn->ac) {
        /* we dropped it ourselves */
        return;
    }

    ngx_http_kefu_redis_failed(conn, NGX_HTTP_KEFU_REDIS_ELOST,
                               "connection lost: %s",
                               ac->errstr ? ac->errstr : "closed by server");
    ngx_http_kefu_redis_lost(conn, ac);
}


/* logs a connection failure: a new reason as an error, repeats quietly */
static void
ngx_http_kefu_redis_failed(ngx_http_kefu_redis_conn_t *conn,
    ngx_http_kefu_redis_err_e err, const char *fmt, const char *detail)
{
    u_char                  msg[NGX_MAX_ERROR_STR];
    ngx_uint_t              level;
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    rd->stats.errors++;

    if (rd->exiting) {
        return;
    }

    level = (err == conn->last_error) ? NGX_LOG_INFO : NGX_LOG_ERR;
    conn->last_error = err;

    if (level > rd->log->log_level) {
        return;
    }

    *ngx_snprintf(msg, sizeof(msg) - 1, fmt, detail ? detail : "") = '\0';

    ngx_log_error(level, rd->log, 0, "kefu_redis %V: %s",
                  &conn->node->addr.name, msg);
}


/* the context is being freed by hiredis */
static void
ngx_http_kefu_redis_lost(ngx_http_kefu_redis_conn_t *conn,
    const redisAsyncContext *ac)
{
    if (ac != conn->ac) {
        return;
    }

    conn->ac = NULL;
    conn->state = NGX_HTTP_KEFU_REDIS_DOWN;

    if (conn->connect_timer.timer_set) {
        ngx_del_timer(&conn->connect_timer);
    }

    /* inside a hiredis callback: reconnect later, from a timer */
    ngx_http_kefu_redis_schedule(conn);

    if (ngx_http_kefu_redis.slots) {
        ngx_http_kefu_redis_cluster_refresh(0);
    }
}


/* Frees the context from an nginx event (never from a hiredis
 * callback); pending commands fail. */
void
ngx_http_kefu_redis_drop(ngx_http_kefu_redis_conn_t *conn,
    ngx_uint_t reconnect)
{
    ngx_http_kefu_redis_close(conn);

    if (reconnect) {
        ngx_http_kefu_redis_schedule(conn);

        if (ngx_http_kefu_redis.slots) {
            ngx_http_kefu_redis_cluster_refresh(0);
        }
    }

    ngx_http_kefu_redis_run_done();
}


/* like drop, without handlers run: for the caller to run them */
void
ngx_http_kefu_redis_close(ngx_http_kefu_redis_conn_t *conn)
{
    redisAsyncContext  *ac;

    if (conn->connect_timer.timer_set) {
        ngx_del_timer(&conn->connect_timer);
    }

    if (conn->watchdog.timer_set) {
        ngx_del_timer(&conn->watchdog);
    }

    ac = conn->ac;

    conn->ac = NULL;
    conn->state = NGX_HTTP_KEFU_REDIS_DOWN;

    if (ac) {
        redisAsyncFree(ac);
    }
}


/*
 * 1 when the connection should be kept up: the one of `kefu_redis`; in
 * a cluster, those of the masters in the slot map, and the seeds' while
 * no map is known; the durable ones of these nodes once used.
 */
ngx_uint_t
ngx_http_kefu_redis_wanted(ngx_http_kefu_redis_conn_t *conn)
{
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    if (conn->durable) {
        return conn->used && (rd->slots == NULL || conn->node->slots);
    }

    if (rd->slots == NULL) {
        return 1;
    }

    return conn->node->slots || (rd->masters == 0 && conn->node->seed);
}


/* exponential backoff with +-25% jitter, so that the workers of all
 * nginx instances do not hammer a restarting Redis in step */
static void
ngx_http_kefu_redis_schedule(ngx_http_kefu_redis_conn_t *conn)
{
    ngx_msec_t              delay;
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    if (rd->exiting || ngx_exiting || ngx_quit || ngx_terminate
        || conn->reconnect.timer_set || !ngx_http_kefu_redis_wanted(conn))
    {
        return;
    }

    delay = conn->backoff * (75 + (ngx_msec_t) (ngx_random() % 51)) / 100;

    if (delay > NGX_HTTP_KEFU_REDIS_BACKOFF_MAX) {
        delay = NGX_HTTP_KEFU_REDIS_BACKOFF_MAX;
    }

    conn->backoff *= 2;
    if (conn->backoff > NGX_HTTP_KEFU_REDIS_BACKOFF_MAX) {
        conn->backoff = NGX_HTTP_KEFU_REDIS_BACKOFF_MAX;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "kefu_redis %V: reconnect in %M ms",
                   &conn->node->addr.name, delay);

    ngx_add_timer(&conn->reconnect, delay);
}


static void
ngx_http_kefu_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_http_kefu_redis_conn_t  *conn = ev->data;

    if (conn->ac || !ngx_http_kefu_redis_wanted(conn)) {
        return;
    }

    ngx_http_kefu_redis_connect(conn);
}


static void
ngx_http_kefu_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_kefu_redis_conn_t  *conn = ev->data;

    ngx_http_kefu_redis_failed(conn, NGX_HTTP_KEFU_REDIS_ETIMEDOUT,
                               "connect or handshake timed out", NULL);
    ngx_http_kefu_redis_drop(conn, 1);
}


/* arms the watchdog once a command is on the wire */
void
ngx_http_kefu_redis_watch(ngx_http_kefu_redis_conn_t *conn)
{
    if (!conn->watchdog.timer_set) {
        ngx_add_timer(&conn->watchdog, ngx_http_kefu_redis.conf->timeout
                                       * (1 + NGX_HTTP_KEFU_REDIS_STALL));
    }
}


/* Redis answers in order: if the oldest command is long overdue, the
 * server or the network is stuck and every later command waits too. */
static void
ngx_http_kefu_redis_watchdog(ngx_event_t *ev)
{
    ngx_msec_t                   limit, age;
    ngx_http_kefu_redis_conn_t  *conn;
    ngx_http_kefu_redis_part_t  *part;

    conn = ev->data;

    if (ngx_queue_empty(&conn->wire) || conn->ac == NULL) {
        return;
    }

    part = ngx_queue_data(ngx_queue_head(&conn->wire),
                          ngx_http_kefu_redis_part_t, wire);

    limit = ngx_http_kefu_redis.conf->timeout
            * (1 + NGX_HTTP_KEFU_REDIS_STALL);
    age = ngx_current_msec - part->sent;

    if (age < limit) {
        ngx_add_timer(&conn->watchdog, limit - age);
        return;
    }

    ngx_http_kefu_redis_failed(conn, NGX_HTTP_KEFU_REDIS_ESTALL,
                               "no reply for too long, reconnecting", NULL);
    ngx_http_kefu_redis_drop(conn, 1);
}
