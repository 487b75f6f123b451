/*
 * ngx_kefu: a request's batch (op) and its commands (parts): queueing on
 * the connection that serves each key, replies copied to the request's
 * pool, one handler call when all are in (or at the timeout), the EVAL
 * fallback on NOSCRIPT, and in a cluster the resend of a part after a
 * redirect or a lost connection, within the batch's own deadline.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_kefu_redis_int.h"


static ngx_int_t ngx_http_kefu_redis_accept(ngx_log_t *log, ngx_uint_t n);
static ngx_http_kefu_redis_op_t *ngx_http_kefu_redis_op_alloc(ngx_log_t *log,
    ngx_uint_t n, ngx_uint_t argc, size_t len);
static void ngx_http_kefu_redis_part_init(ngx_http_kefu_redis_op_t *op,
    ngx_uint_t i, ngx_uint_t argc, ngx_str_t *argv, u_char **p,
    ngx_str_t *av);
static ngx_int_t ngx_http_kefu_redis_op_request(ngx_http_kefu_redis_op_t *op,
    ngx_http_request_t *r, ngx_http_kefu_redis_handler_pt handler,
    void *data);
static ngx_int_t ngx_http_kefu_redis_op_go(ngx_http_kefu_redis_op_t *op);
static ngx_int_t ngx_http_kefu_redis_part_send(
    ngx_http_kefu_redis_part_t *part, ngx_http_kefu_redis_conn_t *conn);
static void ngx_http_kefu_redis_op_fail(ngx_http_kefu_redis_op_t *op);
static void ngx_http_kefu_redis_op_cleanup(void *data);
static void ngx_http_kefu_redis_op_finish(ngx_http_kefu_redis_op_t *op,
    ngx_int_t rc);
static void ngx_http_kefu_redis_op_timeout(ngx_event_t *ev);
static void ngx_http_kefu_redis_detached_timeout(ngx_event_t *ev);
static void ngx_http_kefu_redis_reply_cb(redisAsyncContext *ac, void *reply,
    void *privdata);
static ngx_int_t ngx_http_kefu_redis_eval_retry(redisAsyncContext *ac,
    ngx_http_kefu_redis_part_t *part);
static ngx_int_t ngx_http_kefu_redis_eval_check(ngx_log_t *log,
    ngx_uint_t script, ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv,
    size_t *len);
static ngx_http_kefu_redis_op_t *ngx_http_kefu_redis_eval_op(ngx_log_t *log,
    ngx_uint_t script, ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv,
    size_t len);
static ngx_int_t ngx_http_kefu_redis_eval_start(ngx_http_request_t *r,
    ngx_uint_t script, ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_kefu_redis_pin_t *pin, ngx_http_kefu_redis_handler_pt handler,
    void *data);
static ngx_http_kefu_redis_reply_t *ngx_http_kefu_redis_copy(ngx_pool_t *pool,
    redisReply *reply);


static ngx_str_t  ngx_http_kefu_redis_evalsha = ngx_string("EVALSHA");
static ngx_str_t  ngx_http_kefu_redis_eval_cmd = ngx_string("EVAL");
static ngx_str_t  ngx_http_kefu_redis_asking = ngx_string("ASKING");


ngx_int_t
ngx_http_kefu_redis_send(ngx_http_request_t *r,
    ngx_http_kefu_redis_cmd_t *cmds, ngx_uint_t n,
    ngx_http_kefu_redis_handler_pt handler, void *data)
{
    u_char                    *p;
    size_t                     len;
    ngx_int_t                  rc;
    ngx_str_t                 *av;
    ngx_uint_t                 i, j, argc;
    ngx_http_kefu_redis_op_t  *op;

    if (n == 0) {
        return NGX_DECLINED;
    }

    rc = ngx_http_kefu_redis_accept(r->connection->log, n);
    if (rc != NGX_OK) {
        return rc;
    }

    /* copied: a part may be sent again, to another node */

    argc = 0;
    len = 0;

    for (i = 0; i < n; i++) {
        argc += cmds[i].argc;

        for (j = 0; j < cmds[i].argc; j++) {
            len += cmds[i].argv[j].len;
        }
    }

    op = ngx_http_kefu_redis_op_alloc(r->connection->log, n, argc, len);
    if (op == NULL) {
        return NGX_ERROR;
    }

    av = (ngx_str_t *) &op->part[n];
    p = (u_char *) (av + argc);

    for (i = 0; i < n; i++) {
        ngx_http_kefu_redis_part_init(op, i, cmds[i].argc, cmds[i].argv, &p,
                                      av);
        av += cmds[i].argc;
    }

    if (ngx_http_kefu_redis_op_request(op, r, handler, data) != NGX_OK) {
        ngx_free(op);
        return NGX_ERROR;
    }

    return ngx_http_kefu_redis_op_go(op);
}


ngx_int_t
ngx_http_kefu_redis_eval(ngx_http_request_t *r, ngx_uint_t script,
    ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_kefu_redis_handler_pt handler, void *data)
{
    return ngx_http_kefu_redis_eval_start(r, script, nkeys, argc, argv, NULL,
                                          handler, data);
}


ngx_int_t
ngx_http_kefu_redis_eval_pinned(ngx_http_request_t *r, ngx_uint_t script,
    ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_kefu_redis_pin_t *pin, ngx_http_kefu_redis_handler_pt handler,
    void *data)
{
    pin->conn = NULL;
    pin->generation = 0;
    pin->seq = 0;

    return ngx_http_kefu_redis_eval_start(r, script, nkeys, argc, argv, pin,
                                          handler, data);
}


static ngx_int_t
ngx_http_kefu_redis_eval_start(ngx_http_request_t *r, ngx_uint_t script,
    ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_kefu_redis_pin_t *pin, ngx_http_kefu_redis_handler_pt handler,
    void *data)
{
    size_t                     len;
    ngx_int_t                  rc;
    ngx_http_kefu_redis_op_t  *op;

    rc = ngx_http_kefu_redis_eval_check(r->connection->log, script, nkeys,
                                        argc, argv, &len);
    if (rc != NGX_OK) {
        return rc;
    }

    op = ngx_http_kefu_redis_eval_op(r->connection->log, script, nkeys, argc,
                                     argv, len);
    if (op == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_kefu_redis_op_request(op, r, handler, data) != NGX_OK) {
        ngx_free(op);
        return NGX_ERROR;
    }

    if (pin) {
        op->pin = pin;
        op->durable = 1;
    }

    return ngx_http_kefu_redis_op_go(op);
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
    ngx_http_kefu_redis_t     *rd;
    ngx_http_kefu_redis_op_t  *op;

    rd = &ngx_http_kefu_redis;

    rc = ngx_http_kefu_redis_eval_check(rd->log, script, nkeys, argc, argv,
                                        &len);
    if (rc != NGX_OK) {
        return rc;
    }

    op = ngx_http_kefu_redis_eval_op(rd->log, script, nkeys, argc, argv, len);
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->detached = 1;
    op->timer.handler = ngx_http_kefu_redis_detached_timeout;
    op->timer.data = op;
    op->timer.log = rd->log;

    if (ngx_http_kefu_redis_op_go(op) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* NGX_OK when n more commands may be queued, or why not */
static ngx_int_t
ngx_http_kefu_redis_accept(ngx_log_t *log, ngx_uint_t n)
{
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    if (rd->conf == NULL) {
        return NGX_DECLINED;
    }

    /* parts waiting for their node (a failover) count too: they go
     * out together once it is back */
    if (!ngx_http_kefu_redis_serving()
        || rd->stats.pending + rd->waiting + n > rd->conf->max_pending)
    {
        rd->stats.rejected++;
        return NGX_DECLINED;
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

    if (ngx_http_kefu_redis_accept(log, 1) != NGX_OK) {
        return NGX_DECLINED;
    }

    *len = NGX_INT_T_LEN;

    for (i = 0; i < argc; i++) {
        *len += argv[i].len;
    }

    return NGX_OK;
}


/* an op of one part: EVALSHA sha numkeys args... */
static ngx_http_kefu_redis_op_t *
ngx_http_kefu_redis_eval_op(ngx_log_t *log, ngx_uint_t script,
    ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv, size_t len)
{
    u_char                        *p;
    ngx_str_t                     *av;
    ngx_uint_t                     i;
    ngx_http_kefu_redis_op_t      *op;
    ngx_http_kefu_redis_script_t  *s;

    op = ngx_http_kefu_redis_op_alloc(log, 1, argc + 3, len);
    if (op == NULL) {
        return NULL;
    }

    s = ngx_http_kefu_redis.conf->scripts->elts;

    av = (ngx_str_t *) &op->part[1];
    p = (u_char *) (av + argc + 3);

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

    op->eval = 1;
    op->script = script;
    op->part[0].op = op;
    op->part[0].argv = av;
    op->part[0].argc = argc + 3;
    op->part[0].slot = nkeys ? ngx_http_kefu_redis_slot(&av[3])
                             : NGX_HTTP_KEFU_REDIS_NOSLOT;

    return op;
}


static ngx_http_kefu_redis_op_t *
ngx_http_kefu_redis_op_alloc(ngx_log_t *log, ngx_uint_t n, ngx_uint_t argc,
    size_t len)
{
    ngx_http_kefu_redis_op_t  *op;

    op = ngx_alloc(sizeof(ngx_http_kefu_redis_op_t)
                   + n * sizeof(ngx_http_kefu_redis_part_t)
                   + argc * sizeof(ngx_str_t) + len, log);
    if (op == NULL) {
        return NULL;
    }

    ngx_memzero(op, sizeof(ngx_http_kefu_redis_op_t)
                    + n * sizeof(ngx_http_kefu_redis_part_t));

    op->part = (ngx_http_kefu_redis_part_t *) (op + 1);
    op->n = n;
    op->deadline = ngx_current_msec + ngx_http_kefu_redis.conf->timeout;

    return op;
}


/* part i copies argv into av and *p */
static void
ngx_http_kefu_redis_part_init(ngx_http_kefu_redis_op_t *op, ngx_uint_t i,
    ngx_uint_t argc, ngx_str_t *argv, u_char **p, ngx_str_t *av)
{
    ngx_uint_t                   j;
    ngx_http_kefu_redis_part_t  *part;

    part = &op->part[i];

    for (j = 0; j < argc; j++) {
        av[j].data = *p;
        av[j].len = argv[j].len;

        if (argv[j].len) {
            *p = ngx_cpymem(*p, argv[j].data, argv[j].len);
        }
    }

    part->op = op;
    part->index = i;
    part->argv = av;
    part->argc = argc;

    /* ordinary commands name their key first */
    part->slot = (argc > 1) ? ngx_http_kefu_redis_slot(&av[1])
                            : NGX_HTTP_KEFU_REDIS_NOSLOT;
}


/* ties op to r: a cleanup when r goes, the replies in its pool */
static ngx_int_t
ngx_http_kefu_redis_op_request(ngx_http_kefu_redis_op_t *op,
    ngx_http_request_t *r, ngx_http_kefu_redis_handler_pt handler,
    void *data)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    op->replies = ngx_pcalloc(r->pool,
                              op->n * sizeof(ngx_http_kefu_redis_reply_t *));
    if (op->replies == NULL) {
        return NGX_ERROR;
    }

    op->r = r;
    op->cln = cln;
    op->handler = handler;
    op->data = data;
    op->waiting = 1;

    cln->handler = ngx_http_kefu_redis_op_cleanup;
    cln->data = op;

    /* not cancelable: a graceful shutdown waits for this request */
    op->timer.handler = ngx_http_kefu_redis_op_timeout;
    op->timer.data = op;
    op->timer.log = r->connection->log;

    return NGX_OK;
}


/* sends every part, or queues it until its node can take it */
static ngx_int_t
ngx_http_kefu_redis_op_go(ngx_http_kefu_redis_op_t *op)
{
    ngx_uint_t                   i;
    ngx_http_kefu_redis_conn_t  *conn;
    ngx_http_kefu_redis_part_t  *part;

    for (i = 0; i < op->n; i++) {
        part = &op->part[i];

        conn = ngx_http_kefu_redis_route(part);

        if (conn == NULL) {
            ngx_http_kefu_redis_part_wait(part, 0);
            continue;
        }

        if (ngx_http_kefu_redis_part_send(part, conn) != NGX_OK) {
            goto failed;
        }
    }

    ngx_add_timer(&op->timer, ngx_http_kefu_redis.conf->timeout);

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_ERR, ngx_http_kefu_redis.log, 0,
                  "kefu_redis: cannot queue a command");

    /* the caller answers now: never call its handler; parts already
     * queued still hold op until their replies arrive */
    ngx_http_kefu_redis_op_detach(op);
    op->detached = 0;
    ngx_http_kefu_redis_op_free(op);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_kefu_redis_part_send(ngx_http_kefu_redis_part_t *part,
    ngx_http_kefu_redis_conn_t *conn)
{
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    /* ASKING holds for the next command of the connection only */
    if (part->ask
        && ngx_http_kefu_redis_command(conn->ac, NULL, NULL, 1,
                                       &ngx_http_kefu_redis_asking)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_kefu_redis_command(conn->ac, ngx_http_kefu_redis_reply_cb,
                                    part, part->argc, part->argv)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    part->conn = conn;
    part->seq = ++conn->seq;
    part->sent = ngx_current_msec;
    ngx_queue_insert_tail(&conn->wire, &part->wire);

    part->op->outstanding++;
    rd->stats.pending++;
    rd->stats.commands++;

    ngx_http_kefu_redis_watch(conn);

    return NGX_OK;
}


/* the part goes out again later (see run_retry) */
void
ngx_http_kefu_redis_part_wait(ngx_http_kefu_redis_part_t *part,
    ngx_msec_t delay)
{
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    part->due = ngx_current_msec + delay;

    if (!part->queued) {
        part->queued = 1;
        part->op->retrying++;
        rd->waiting++;
        ngx_queue_insert_tail(&rd->retry, &part->retry);
    }

    if (!rd->retry_timer.timer_set) {
        ngx_add_timer(&rd->retry_timer, delay ? delay : 1);
    }
}


/* parts due for another try, from a timer or after hiredis returned */
void
ngx_http_kefu_redis_run_retry(void)
{
    ngx_queue_t                 *q, *next;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_op_t    *op;
    ngx_http_kefu_redis_conn_t  *conn;
    ngx_http_kefu_redis_part_t  *part;

    rd = &ngx_http_kefu_redis;

    for (q = ngx_queue_head(&rd->retry);
         q != ngx_queue_sentinel(&rd->retry);
         q = next)
    {
        next = ngx_queue_next(q);
        part = ngx_queue_data(q, ngx_http_kefu_redis_part_t, retry);
        op = part->op;

        conn = NULL;

        if (op->waiting || op->detached) {

            if ((ngx_msec_int_t) (part->due - ngx_current_msec) > 0) {
                continue;
            }

            conn = ngx_http_kefu_redis_route(part);

            /* a request's own timer ends its wait */
            if (conn == NULL
                && (!op->detached
                    || (ngx_msec_int_t) (op->deadline - ngx_current_msec)
                       > 0))
            {
                continue;
            }
        }

        ngx_queue_remove(q);
        part->queued = 0;
        op->retrying--;
        rd->waiting--;

        if (conn != NULL) {
            if (ngx_http_kefu_redis_part_send(part, conn) != NGX_OK) {
                ngx_http_kefu_redis_op_fail(op);
            }

        } else if (op->detached) {
            ngx_http_kefu_redis_op_fail(op);
        }

        /* not before: freeing would take its other parts off the list */
        if (op->retrying == 0) {
            ngx_http_kefu_redis_op_free(op);
        }
    }

    if (!ngx_queue_empty(&rd->retry) && !rd->retry_timer.timer_set
        && !rd->exiting)
    {
        ngx_add_timer(&rd->retry_timer, NGX_HTTP_KEFU_REDIS_RETRY);
    }
}


/* a part that cannot be answered: a request's handler hears NGX_ERROR */
static void
ngx_http_kefu_redis_op_fail(ngx_http_kefu_redis_op_t *op)
{
    if (op->detached) {
        ngx_log_error(NGX_LOG_ERR, ngx_http_kefu_redis.log, 0,
                      "kefu_redis: script %ui lost", op->script);
        op->detached = 0;
        return;
    }

    ngx_http_kefu_redis_op_finish(op, NGX_ERROR);
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


void
ngx_http_kefu_redis_op_detach(ngx_http_kefu_redis_op_t *op)
{
    if (op->cln) {
        op->cln->handler = NULL;
        op->cln = NULL;
    }

    if (op->timer.timer_set && !op->detached) {
        ngx_del_timer(&op->timer);
    }

    op->r = NULL;
    op->waiting = 0;
    op->pin = NULL;
}


/* frees op once nobody refers to it any more */
void
ngx_http_kefu_redis_op_free(ngx_http_kefu_redis_op_t *op)
{
    ngx_uint_t                   i;
    ngx_http_kefu_redis_part_t  *part;

    if (op->waiting || op->queued || op->outstanding) {
        return;
    }

    if (op->retrying) {
        if (op->detached) {
            return;
        }

        /* a request that gave up: its parts wait for nothing */
        for (i = 0; i < op->n; i++) {
            part = &op->part[i];

            if (part->queued) {
                ngx_queue_remove(&part->retry);
                part->queued = 0;
            }
        }

        ngx_http_kefu_redis.waiting -= op->retrying;
        op->retrying = 0;
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
    void                            *data;

    op = ev->data;
    r = op->r;
    c = r->connection;
    handler = op->handler;
    data = op->data;

    ngx_log_error(NGX_LOG_ERR, c->log, 0,
                  "kefu_redis: command timed out after %M ms",
                  ngx_http_kefu_redis.conf->timeout);

    ngx_http_kefu_redis.stats.timeouts++;

    /* the replies may still come: op stays with hiredis until then */
    ngx_http_kefu_redis_op_detach(op);
    ngx_http_kefu_redis_op_free(op);

    handler(r, data, NGX_ERROR, NULL, 0);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_kefu_redis_reply_cb(redisAsyncContext *ac, void *data,
    void *privdata)
{
    redisReply                   *reply = data;
    ngx_http_kefu_redis_t        *rd;
    ngx_http_kefu_redis_op_t     *op;
    ngx_http_kefu_redis_conn_t   *conn;
    ngx_http_kefu_redis_part_t   *part = privdata;
    ngx_http_kefu_redis_reply_t  *copy;

    rd = &ngx_http_kefu_redis;
    op = part->op;
    conn = part->conn;

    ngx_queue_remove(&part->wire);
    part->conn = NULL;
    part->ask = NULL;
    op->outstanding--;
    rd->stats.pending--;

    if (!op->waiting && !op->detached) {
        goto done;
    }

    if (reply == NULL) {
        /* disconnected: in a cluster the key's node may come back or
         * be replaced in time; else the batch fails */
        if (rd->slots != NULL && !rd->exiting
            && (ngx_msec_int_t) (op->deadline - ngx_current_msec) > 0)
        {
            ngx_http_kefu_redis_part_wait(part, NGX_HTTP_KEFU_REDIS_RETRY);
            goto done;
        }

        if (op->detached) {
            /* the counters are lost with the connection */
            op->detached = 0;

        } else {
            ngx_http_kefu_redis_op_finish(op, NGX_ERROR);
        }

        goto done;
    }

    if (reply->type == REDIS_REPLY_ERROR) {

        /* the script cache was flushed (restart, SCRIPT FLUSH) */
        if (op->eval && !part->retried && reply->len >= 8
            && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0)
        {
            if (ngx_http_kefu_redis_eval_retry(ac, part) != NGX_OK) {
                ngx_http_kefu_redis_op_fail(op);
            }

            goto done;
        }

        if (rd->slots != NULL
            && ngx_http_kefu_redis_cluster_redirect(part, conn, reply))
        {
            goto done;
        }

        if (op->detached) {
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "kefu_redis: script %ui failed: %*s", op->script,
                          (size_t) reply->len, reply->str);
        }
    }

    if (op->detached) {
        op->detached = 0;
        goto done;
    }

    if (op->pin) {
        op->pin->conn = conn;
        op->pin->generation = conn->generation;
        op->pin->seq = part->seq;
    }

    copy = ngx_http_kefu_redis_copy(op->r->pool, reply);

    if (copy == NULL) {
        ngx_http_kefu_redis_op_finish(op, NGX_ERROR);

    } else {
        op->replies[part->index] = copy;

        if (++op->received == op->n) {
            ngx_http_kefu_redis_op_finish(op, NGX_OK);
        }
    }

done:

    ngx_http_kefu_redis_op_free(op);
}


/* the script cache was flushed (restart, SCRIPT FLUSH): send the source
 * once, on the same connection; Redis caches it again */
static ngx_int_t
ngx_http_kefu_redis_eval_retry(redisAsyncContext *ac,
    ngx_http_kefu_redis_part_t *part)
{
    ngx_http_kefu_redis_script_t  *s;

    if (ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)) {
        return NGX_ERROR;
    }

    s = ngx_http_kefu_redis.conf->scripts->elts;

    part->argv[0] = ngx_http_kefu_redis_eval_cmd;
    part->argv[1] = s[part->op->script].source;
    part->retried = 1;

    /* it goes to the end of the pipeline */
    return ngx_http_kefu_redis_part_send(part, ac->data);
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
 * Sends the parts due again, then calls the handlers of finished
 * batches, from a connection's own event and outside any hiredis
 * callback, then runs the requests they posted (the handler may have
 * finalized r: keep its connection).
 */
void
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

    if (!ngx_queue_empty(&rd->retry)) {
        ngx_http_kefu_redis_run_retry();
    }

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
 * sent.  Everything else (ERR, WRONGTYPE, a script's own error, NOPERM)
 * repeats on every retry.
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

    /* a redirect reaches a handler from a single Redis misconfigured as
     * a cluster node (it will repeat), or after too many redirects of a
     * cluster in flux (it will pass) */
    if (ngx_http_kefu_redis.slots != NULL
        && ((err->len > 6 && ngx_strncmp(err->data, "MOVED ", 6) == 0)
            || (err->len > 4 && ngx_strncmp(err->data, "ASK ", 4) == 0)))
    {
        return 1;
    }

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
