/*
 * ngx_kefu: the worker's Redis client: its nodes, which connection a
 * command goes to, process start and exit, what health and metrics see.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_kefu_redis_int.h"
#include "kefu_crc16.h"


static void ngx_http_kefu_redis_retry_handler(ngx_event_t *ev);


/* the worker's only mutable Redis state: nodes, queues and stats */
ngx_http_kefu_redis_t  ngx_http_kefu_redis;


ngx_int_t
ngx_http_kefu_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_kefu_redis_conf_t *rcf)
{
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_node_t  *node;

    rd = &ngx_http_kefu_redis;

    ngx_memzero(rd, sizeof(ngx_http_kefu_redis_t));

    ngx_queue_init(&rd->nodes);
    ngx_queue_init(&rd->done);
    ngx_queue_init(&rd->retry);

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

    rd->retry_timer.handler = ngx_http_kefu_redis_retry_handler;
    rd->retry_timer.log = cycle->log;
    rd->retry_timer.cancelable = 1;

    if (rcf->cluster) {
        return ngx_http_kefu_redis_cluster_init(cycle);
    }

    node = ngx_http_kefu_redis_node(rcf->addrs->elts);
    if (node == NULL) {
        return NGX_ERROR;
    }

    ngx_http_kefu_redis_connect_soon(&node->conn);

    return NGX_OK;
}


/*
 * Connects from the event loop's first round: the rest of the worker's
 * start (knowledge bases, session copies) may take longer than
 * connect_timeout, which would expire before the first reply is read.
 */
void
ngx_http_kefu_redis_connect_soon(ngx_http_kefu_redis_conn_t *conn)
{
    ngx_add_timer(&conn->reconnect, 1);
}


void
ngx_http_kefu_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_queue_t                 *q, *w;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_op_t    *op;
    ngx_http_kefu_redis_node_t  *node;
    ngx_http_kefu_redis_part_t  *part;

    rd = &ngx_http_kefu_redis;

    if (rd->conf == NULL) {
        return;
    }

    rd->exiting = 1;

    if (rd->retry_timer.timer_set) {
        ngx_del_timer(&rd->retry_timer);
    }

    if (rd->refresh.timer_set) {
        ngx_del_timer(&rd->refresh);
    }

    /* the worker is going away with its requests: do not call their
     * handlers, just let go of them */

    for (q = ngx_queue_head(&rd->nodes);
         q != ngx_queue_sentinel(&rd->nodes);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

        for (w = ngx_queue_head(&node->conn.wire);
             w != ngx_queue_sentinel(&node->conn.wire);
             w = ngx_queue_next(w))
        {
            part = ngx_queue_data(w, ngx_http_kefu_redis_part_t, wire);
            ngx_http_kefu_redis_op_detach(part->op);
        }

        for (w = ngx_queue_head(&node->durable.wire);
             w != ngx_queue_sentinel(&node->durable.wire);
             w = ngx_queue_next(w))
        {
            part = ngx_queue_data(w, ngx_http_kefu_redis_part_t, wire);
            ngx_http_kefu_redis_op_detach(part->op);
        }
    }

    while (!ngx_queue_empty(&rd->retry)) {
        q = ngx_queue_head(&rd->retry);
        part = ngx_queue_data(q, ngx_http_kefu_redis_part_t, retry);
        op = part->op;

        ngx_queue_remove(q);
        part->queued = 0;
        op->retrying--;
        rd->waiting--;
        op->detached = 0;

        ngx_http_kefu_redis_op_detach(op);
        ngx_http_kefu_redis_op_free(op);
    }

    while (!ngx_queue_empty(&rd->done)) {
        q = ngx_queue_head(&rd->done);
        op = ngx_queue_data(q, ngx_http_kefu_redis_op_t, done);

        ngx_queue_remove(q);
        op->queued = 0;

        ngx_http_kefu_redis_op_detach(op);
        ngx_http_kefu_redis_op_free(op);
    }

    /* frees the contexts: parts get their NULL replies and ops are
     * freed, the cleanup hook closes the sockets (no "open socket
     * left") */
    while (!ngx_queue_empty(&rd->nodes)) {
        q = ngx_queue_head(&rd->nodes);
        node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

        ngx_http_kefu_redis_close(&node->conn);
        ngx_http_kefu_redis_close(&node->durable);

        if (node->conn.reconnect.timer_set) {
            ngx_del_timer(&node->conn.reconnect);
        }

        if (node->durable.reconnect.timer_set) {
            ngx_del_timer(&node->durable.reconnect);
        }

        ngx_queue_remove(q);
        ngx_free(node);
    }

    if (rd->argv) {
        ngx_free(rd->argv);
        ngx_free(rd->argvlen);
        rd->argv = NULL;
        rd->argvlen = NULL;
        rd->nargv = 0;
    }

    if (rd->slots) {
        ngx_free(rd->slots);
        ngx_free(rd->next);
        rd->slots = NULL;
        rd->next = NULL;
    }

    rd->conf = NULL;
}


/*
 * The node at addr, made on first sight (a cluster's nodes come from
 * seeds, maps and redirects: at most one per address).  Nodes live as
 * long as the worker, so a pointer to one never dangles.
 */
ngx_http_kefu_redis_node_t *
ngx_http_kefu_redis_node(ngx_http_kefu_redis_addr_t *addr)
{
    u_char                      *p;
    size_t                       len;
    ngx_queue_t                 *q;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_node_t  *node;

    rd = &ngx_http_kefu_redis;

    for (q = ngx_queue_head(&rd->nodes);
         q != ngx_queue_sentinel(&rd->nodes);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

        if (node->addr.name.len == addr->name.len
            && ngx_strncmp(node->addr.name.data, addr->name.data,
                           addr->name.len) == 0)
        {
            return node;
        }
    }

    /* addresses come from servers: bound what they can make us hold */
    if (rd->nnodes >= NGX_HTTP_KEFU_REDIS_MAX_NODES) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "kefu_redis_cluster: more than %d nodes, %V ignored",
                      NGX_HTTP_KEFU_REDIS_MAX_NODES, &addr->name);
        return NULL;
    }

    len = sizeof(ngx_http_kefu_redis_node_t) + addr->name.len
          + addr->host.len + 1 + addr->unix_path.len + 1;

    node = ngx_alloc(len, rd->log);
    if (node == NULL) {
        return NULL;
    }

    ngx_memzero(node, sizeof(ngx_http_kefu_redis_node_t));

    p = (u_char *) (node + 1);

    node->addr.name.data = p;
    node->addr.name.len = addr->name.len;
    p = ngx_cpymem(p, addr->name.data, addr->name.len);

    node->addr.host.data = p;
    node->addr.host.len = addr->host.len;

    if (addr->host.len) {
        p = ngx_cpymem(p, addr->host.data, addr->host.len);
    }

    *p++ = '\0';

    node->addr.unix_path.data = p;
    node->addr.unix_path.len = addr->unix_path.len;

    /* a TCP address has no path, a unix one no host: { 0, NULL } */
    if (addr->unix_path.len) {
        p = ngx_cpymem(p, addr->unix_path.data, addr->unix_path.len);
    }

    *p = '\0';

    node->addr.port = addr->port;

    ngx_http_kefu_redis_conn_init(&node->conn, node, 0);
    ngx_http_kefu_redis_conn_init(&node->durable, node, 1);

    ngx_queue_insert_tail(&rd->nodes, &node->queue);
    rd->nnodes++;

    return node;
}


ngx_uint_t
ngx_http_kefu_redis_slot(ngx_str_t *key)
{
    if (ngx_http_kefu_redis.slots == NULL) {
        return NGX_HTTP_KEFU_REDIS_NOSLOT;
    }

    return kefu_cluster_slot(key->data, key->len);
}


/*
 * The connection a part goes to now, or NULL when it must wait: its
 * slot has no master yet or the master's connection is not ready (it
 * is connected here if nothing else does it).
 */
ngx_http_kefu_redis_conn_t *
ngx_http_kefu_redis_route(ngx_http_kefu_redis_part_t *part)
{
    ngx_queue_t                 *q;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_op_t    *op;
    ngx_http_kefu_redis_conn_t  *conn;
    ngx_http_kefu_redis_node_t  *node;

    rd = &ngx_http_kefu_redis;
    op = part->op;

    node = NULL;

    if (rd->slots == NULL) {
        q = ngx_queue_head(&rd->nodes);
        node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

    } else if (part->ask) {
        node = part->ask;

    } else if (part->slot != NGX_HTTP_KEFU_REDIS_NOSLOT) {
        node = rd->slots[part->slot];

    } else {
        /* a keyless script: any master */
        for (q = ngx_queue_head(&rd->nodes);
             q != ngx_queue_sentinel(&rd->nodes);
             q = ngx_queue_next(q))
        {
            node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

            if (node->slots
                && node->conn.state == NGX_HTTP_KEFU_REDIS_READY)
            {
                break;
            }

            node = NULL;
        }
    }

    if (node == NULL) {
        return NULL;
    }

    conn = op->durable ? &node->durable : &node->conn;

    if (conn->state == NGX_HTTP_KEFU_REDIS_READY) {
        return conn;
    }

    if (conn->durable) {
        conn->used = 1;
    }

    if (conn->ac == NULL && !conn->reconnect.timer_set) {
        ngx_http_kefu_redis_connect(conn);
    }

    return NULL;
}


/*
 * 1 when a new batch is taken.  In a cluster, once a map is known (a
 * batch for a node that is down waits for it within its timeout), or
 * while a node is being connected or asked for the first one; not when
 * no node answers, or the one that did is no cluster.
 */
ngx_uint_t
ngx_http_kefu_redis_serving(void)
{
    ngx_queue_t                 *q;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_node_t  *node;

    rd = &ngx_http_kefu_redis;

    if (rd->slots) {
        if (rd->masters > 0) {
            return 1;
        }

        if (rd->refresh_error) {
            return 0;
        }

        for (q = ngx_queue_head(&rd->nodes);
             q != ngx_queue_sentinel(&rd->nodes);
             q = ngx_queue_next(q))
        {
            node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

            if (node->conn.state != NGX_HTTP_KEFU_REDIS_DOWN) {
                return 1;
            }
        }

        return 0;
    }

    if (ngx_queue_empty(&rd->nodes)) {
        return 0;
    }

    q = ngx_queue_head(&rd->nodes);
    node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

    return node->conn.state == NGX_HTTP_KEFU_REDIS_READY;
}


/* a connection finished its handshake (inside a hiredis callback) */
void
ngx_http_kefu_redis_ready(ngx_http_kefu_redis_conn_t *conn)
{
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    if (rd->slots && rd->masters == 0) {
        ngx_http_kefu_redis_cluster_refresh(1);
    }

    if (!ngx_queue_empty(&rd->retry)) {
        if (rd->retry_timer.timer_set) {
            ngx_del_timer(&rd->retry_timer);
        }

        ngx_add_timer(&rd->retry_timer, 1);
    }
}


static void
ngx_http_kefu_redis_retry_handler(ngx_event_t *ev)
{
    ngx_http_kefu_redis_run_done();
}


ngx_uint_t
ngx_http_kefu_redis_connected(void)
{
    ngx_queue_t                 *q;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_node_t  *node;

    rd = &ngx_http_kefu_redis;

    if (rd->slots == NULL) {
        return ngx_http_kefu_redis_serving();
    }

    if (rd->covered < NGX_HTTP_KEFU_REDIS_SLOTS) {
        return 0;
    }

    for (q = ngx_queue_head(&rd->nodes);
         q != ngx_queue_sentinel(&rd->nodes);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

        if (node->slots && node->conn.state != NGX_HTTP_KEFU_REDIS_READY) {
            return 0;
        }
    }

    return 1;
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


/* a node's connections that are ready: its own and its durable one */
static ngx_uint_t
ngx_http_kefu_redis_node_up(ngx_http_kefu_redis_node_t *node)
{
    return (node->conn.state == NGX_HTTP_KEFU_REDIS_READY)
           + (node->durable.state == NGX_HTTP_KEFU_REDIS_READY);
}


ngx_uint_t
ngx_http_kefu_redis_cluster(ngx_uint_t *masters, ngx_uint_t *up)
{
    ngx_queue_t                 *q;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_node_t  *node;

    rd = &ngx_http_kefu_redis;

    *masters = rd->masters;
    *up = 0;

    for (q = ngx_queue_head(&rd->nodes);
         q != ngx_queue_sentinel(&rd->nodes);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

        *up += ngx_http_kefu_redis_node_up(node);
    }

    return rd->slots != NULL;
}


ngx_int_t
ngx_http_kefu_redis_node_info(ngx_uint_t i,
    ngx_http_kefu_redis_node_info_t *info)
{
    ngx_queue_t                 *q;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_node_t  *node;

    rd = &ngx_http_kefu_redis;

    for (q = ngx_queue_head(&rd->nodes);
         q != ngx_queue_sentinel(&rd->nodes);
         q = ngx_queue_next(q))
    {
        if (i--) {
            continue;
        }

        node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

        info->name = node->addr.name;
        info->slots = node->slots;
        info->up = ngx_http_kefu_redis_node_up(node);
        info->moved = node->moved;
        info->ask = node->ask;

        return NGX_OK;
    }

    return NGX_DONE;
}
