/*
 * ngx_kefu: WAIT for replicas after pinned scripts, one WAIT in flight
 * per connection for all the requests whose scripts went before it
 * ("group commit").
 *
 * Redis runs a client's commands in order, and WAIT counts the replicas
 * that acknowledged the client's latest write when WAIT runs: a WAIT
 * sent on a connection after a script covers that script's write.  A
 * connection numbers what it sends (conn->seq) and a pin holds its
 * script's number; a request whose script answered joins a WAIT in
 * flight sent after its script, else sends one.  Redis answers in order
 * too, so a script's reply comes after those of the WAITs sent before
 * it: a script waits behind at most one WAIT, and one WAIT at a time is
 * in flight per connection.
 *
 * A WAIT is allocated with ngx_alloc (hiredis holds it until its reply
 * or the disconnect) and lists its waiters; a waiter lives in its
 * request's pool and leaves the list when the request goes.  The reply
 * reaches a waiter through a posted event, never inside the hiredis
 * callback, and its own timer bounds the wait by the kefu_redis timeout.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_kefu_redis_int.h"


typedef struct {
    ngx_queue_t                      queue;     /* conn->waits */
    ngx_queue_t                      waiters;
    ngx_uint_t                       seq;       /* conn->seq when sent */
    ngx_uint_t                       generation;
    ngx_uint_t                       replicas;
    ngx_msec_t                       timeout;
} ngx_http_kefu_redis_wait_t;


typedef struct {
    ngx_queue_t                      queue;     /* wait->waiters */
    ngx_event_t                      ev;        /* deadline, then answer */
    ngx_http_request_t              *r;
    ngx_pool_cleanup_t              *cln;
    ngx_http_kefu_redis_wait_t      *wait;      /* NULL once answered */
    ngx_http_kefu_redis_wait_pt      handler;
    void                            *data;
    ngx_int_t                        rc;
    ngx_uint_t                       replicas;
} ngx_http_kefu_redis_waiter_t;


static ngx_http_kefu_redis_wait_t *ngx_http_kefu_redis_wait_send(
    ngx_http_kefu_redis_conn_t *conn, ngx_uint_t replicas,
    ngx_msec_t timeout);
static void ngx_http_kefu_redis_wait_cb(redisAsyncContext *ac, void *reply,
    void *privdata);
static void ngx_http_kefu_redis_waiter_handler(ngx_event_t *ev);
static void ngx_http_kefu_redis_waiter_cleanup(void *data);


ngx_int_t
ngx_http_kefu_redis_wait(ngx_http_request_t *r,
    ngx_http_kefu_redis_pin_t *pin, ngx_uint_t replicas, ngx_msec_t timeout,
    ngx_http_kefu_redis_wait_pt handler, void *data)
{
    ngx_queue_t                   *q;
    ngx_pool_cleanup_t            *cln;
    ngx_http_kefu_redis_t         *rd;
    ngx_http_kefu_redis_conn_t    *conn;
    ngx_http_kefu_redis_wait_t    *wait, *w;
    ngx_http_kefu_redis_waiter_t  *waiter;

    rd = &ngx_http_kefu_redis;
    conn = pin->conn;

    if (rd->conf == NULL || conn == NULL
        || conn->state != NGX_HTTP_KEFU_REDIS_READY
        || conn->generation != pin->generation)
    {
        /* the write may not be on the replicas this connection would
         * count: the caller's retry runs the script again */
        rd->stats.rejected++;
        return NGX_DECLINED;
    }

    wait = NULL;

    for (q = ngx_queue_head(&conn->waits);
         q != ngx_queue_sentinel(&conn->waits);
         q = ngx_queue_next(q))
    {
        w = ngx_queue_data(q, ngx_http_kefu_redis_wait_t, queue);

        if (w->seq > pin->seq && w->generation == pin->generation
            && w->replicas == replicas && w->timeout == timeout)
        {
            wait = w;
            break;
        }
    }

    waiter = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_redis_waiter_t));
    if (waiter == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    if (wait == NULL) {
        /* the same cap as every command's (ngx_http_kefu_redis_accept) */
        if (rd->stats.pending + rd->waiting >= rd->conf->max_pending) {
            rd->stats.rejected++;
            return NGX_DECLINED;
        }

        wait = ngx_http_kefu_redis_wait_send(conn, replicas, timeout);
        if (wait == NULL) {
            return NGX_ERROR;
        }
    }

    waiter->r = r;
    waiter->cln = cln;
    waiter->wait = wait;
    waiter->handler = handler;
    waiter->data = data;
    waiter->rc = NGX_ERROR;

    /* not cancelable: a graceful shutdown waits for this request */
    waiter->ev.handler = ngx_http_kefu_redis_waiter_handler;
    waiter->ev.data = waiter;
    waiter->ev.log = r->connection->log;

    cln->handler = ngx_http_kefu_redis_waiter_cleanup;
    cln->data = waiter;

    ngx_queue_insert_tail(&wait->waiters, &waiter->queue);
    ngx_add_timer(&waiter->ev, rd->conf->timeout);

    return NGX_OK;
}


static ngx_http_kefu_redis_wait_t *
ngx_http_kefu_redis_wait_send(ngx_http_kefu_redis_conn_t *conn,
    ngx_uint_t replicas, ngx_msec_t timeout)
{
    u_char                       n[NGX_INT_T_LEN], t[NGX_INT_T_LEN];
    ngx_str_t                    argv[3];
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_wait_t  *wait;

    rd = &ngx_http_kefu_redis;

    wait = ngx_alloc(sizeof(ngx_http_kefu_redis_wait_t), rd->log);
    if (wait == NULL) {
        return NULL;
    }

    ngx_str_set(&argv[0], "WAIT");
    argv[1].data = n;
    argv[1].len = ngx_sprintf(n, "%ui", replicas) - n;
    argv[2].data = t;
    argv[2].len = ngx_sprintf(t, "%M", timeout) - t;

    if (ngx_http_kefu_redis_command(conn->ac, ngx_http_kefu_redis_wait_cb,
                                    wait, 3, argv)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "kefu_redis: cannot queue a WAIT");
        ngx_free(wait);
        return NULL;
    }

    ngx_queue_init(&wait->waiters);
    wait->seq = ++conn->seq;
    wait->generation = conn->generation;
    wait->replicas = replicas;
    wait->timeout = timeout;

    ngx_queue_insert_tail(&conn->waits, &wait->queue);

    rd->stats.pending++;
    rd->stats.commands++;

    return wait;
}


/* a hiredis callback: only hand the answer to the waiters' events */
static void
ngx_http_kefu_redis_wait_cb(redisAsyncContext *ac, void *data,
    void *privdata)
{
    redisReply                    *reply = data;
    ngx_int_t                      rc;
    ngx_uint_t                     n;
    ngx_queue_t                   *q;
    ngx_http_kefu_redis_t         *rd;
    ngx_http_kefu_redis_wait_t    *wait = privdata;
    ngx_http_kefu_redis_waiter_t  *waiter;

    rd = &ngx_http_kefu_redis;

    ngx_queue_remove(&wait->queue);
    rd->stats.pending--;

    rc = NGX_ERROR;
    n = 0;

    if (reply != NULL) {
        if (reply->type == REDIS_REPLY_INTEGER && reply->integer >= 0) {
            rc = NGX_OK;
            n = (ngx_uint_t) reply->integer;

        } else {
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "kefu_redis: WAIT failed: %*s",
                          (size_t) (reply->type == REDIS_REPLY_ERROR
                                    ? reply->len : 0),
                          reply->str);
        }
    }

    while (!ngx_queue_empty(&wait->waiters)) {
        q = ngx_queue_head(&wait->waiters);
        waiter = ngx_queue_data(q, ngx_http_kefu_redis_waiter_t, queue);

        ngx_queue_remove(q);
        waiter->wait = NULL;

        if (waiter->ev.timer_set) {
            ngx_del_timer(&waiter->ev);
        }

        if (rd->exiting) {
            /* the worker is going away with its requests */
            waiter->cln->handler = NULL;
            continue;
        }

        waiter->rc = rc;
        waiter->replicas = n;

        ngx_post_event(&waiter->ev, &ngx_posted_events);
    }

    ngx_free(wait);
}


static void
ngx_http_kefu_redis_waiter_handler(ngx_event_t *ev)
{
    ngx_connection_t              *c;
    ngx_http_request_t            *r;
    ngx_http_kefu_redis_waiter_t  *waiter;

    waiter = ev->data;
    r = waiter->r;
    c = r->connection;

    if (ev->timedout) {
        ev->timedout = 0;

        /* the WAIT is still owed: its reply will find one waiter less */
        ngx_queue_remove(&waiter->queue);
        waiter->wait = NULL;

        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "kefu_redis: WAIT timed out after %M ms",
                      ngx_http_kefu_redis.conf->timeout);

        ngx_http_kefu_redis.stats.timeouts++;
    }

    waiter->cln->handler = NULL;

    waiter->handler(r, waiter->data, waiter->rc, waiter->replicas);
    ngx_http_run_posted_requests(c);
}


/* the request's pool is going away: never touch the request again */
static void
ngx_http_kefu_redis_waiter_cleanup(void *data)
{
    ngx_http_kefu_redis_waiter_t  *waiter = data;

    if (waiter->wait) {
        ngx_queue_remove(&waiter->queue);
        waiter->wait = NULL;
    }

    if (waiter->ev.timer_set) {
        ngx_del_timer(&waiter->ev);
    }

    if (waiter->ev.posted) {
        ngx_delete_posted_event(&waiter->ev);
    }
}
