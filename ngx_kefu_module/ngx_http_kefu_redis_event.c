/*
 * ngx_kefu: hiredis on nginx's event loop.
 *
 * hiredis 0.14 is the protocol codec and command queue; nginx owns the
 * event loop and every timer.  A socket is wrapped in an nginx
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

#include "ngx_http_kefu_redis_int.h"


static void ngx_http_kefu_redis_add_read(void *data);
static void ngx_http_kefu_redis_del_read(void *data);
static void ngx_http_kefu_redis_add_write(void *data);
static void ngx_http_kefu_redis_del_write(void *data);
static void ngx_http_kefu_redis_cleanup(void *data);
static void ngx_http_kefu_redis_read_handler(ngx_event_t *rev);
static void ngx_http_kefu_redis_write_handler(ngx_event_t *wev);
static ngx_uint_t ngx_http_kefu_redis_expected(const redisReadTask *task);
static void *ngx_http_kefu_redis_reply_string(const redisReadTask *task,
    char *str, size_t len);
static void *ngx_http_kefu_redis_reply_array(const redisReadTask *task,
    int elements);
static void *ngx_http_kefu_redis_reply_integer(const redisReadTask *task,
    long long value);
static void *ngx_http_kefu_redis_reply_nil(const redisReadTask *task);


ngx_int_t
ngx_http_kefu_redis_attach(ngx_http_kefu_redis_conn_t *conn,
    redisAsyncContext *ac)
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

    ac->data = conn;
    ac->ev.data = c;
    ac->ev.addRead = ngx_http_kefu_redis_add_read;
    ac->ev.delRead = ngx_http_kefu_redis_del_read;
    ac->ev.addWrite = ngx_http_kefu_redis_add_write;
    ac->ev.delWrite = ngx_http_kefu_redis_del_write;
    ac->ev.cleanup = ngx_http_kefu_redis_cleanup;

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
        ngx_http_kefu_redis_drop(ac->data, !ngx_exiting);
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



/* argv as hiredis wants it, through one scratch array per worker */

ngx_int_t
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


