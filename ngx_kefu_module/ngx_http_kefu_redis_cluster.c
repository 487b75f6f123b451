/*
 * ngx_kefu: Redis Cluster topology: the worker's slot map, read with
 * CLUSTER SLOTS from any connected node (a seed until a map is known),
 * refreshed periodically, soon after a lost connection or a MOVED; and
 * what a MOVED, ASK, TRYAGAIN or CLUSTERDOWN reply does to a command.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_kefu_redis_int.h"


/* the map is read again this often when all is well, and more often
 * while a slot has no master or a master is unreachable (failover) */
#define NGX_HTTP_KEFU_REDIS_REFRESH         5000
#define NGX_HTTP_KEFU_REDIS_REFRESH_FAST    250
/* soon after a MOVED or a lost connection; MOVED storms share one */
#define NGX_HTTP_KEFU_REDIS_REFRESH_SOON    100
/* a command followed this many redirects: the cluster is in flux */
#define NGX_HTTP_KEFU_REDIS_REDIRECTS       5


static void ngx_http_kefu_redis_refresh_handler(ngx_event_t *ev);
static void ngx_http_kefu_redis_refresh_cb(redisAsyncContext *ac,
    void *reply, void *privdata);
static ngx_uint_t ngx_http_kefu_redis_map_read(redisReply *reply,
    ngx_http_kefu_redis_node_t *asked);
static void ngx_http_kefu_redis_map_apply(void);
static ngx_http_kefu_redis_node_t *ngx_http_kefu_redis_cluster_node(
    u_char *host, size_t len, ngx_int_t port,
    ngx_http_kefu_redis_node_t *asked);


static ngx_str_t  ngx_http_kefu_redis_cluster_slots[] = {
    ngx_string("CLUSTER"), ngx_string("SLOTS")
};


ngx_int_t
ngx_http_kefu_redis_cluster_init(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_addr_t  *seed;
    ngx_http_kefu_redis_node_t  *node;

    rd = &ngx_http_kefu_redis;

    rd->slots = ngx_calloc(NGX_HTTP_KEFU_REDIS_SLOTS
                           * sizeof(ngx_http_kefu_redis_node_t *),
                           cycle->log);
    rd->next = ngx_alloc(NGX_HTTP_KEFU_REDIS_SLOTS
                         * sizeof(ngx_http_kefu_redis_node_t *),
                         cycle->log);
    if (rd->slots == NULL || rd->next == NULL) {
        return NGX_ERROR;
    }

    rd->refresh.handler = ngx_http_kefu_redis_refresh_handler;
    rd->refresh.log = cycle->log;
    rd->refresh.cancelable = 1;

    seed = rd->conf->addrs->elts;

    for (i = 0; i < rd->conf->addrs->nelts; i++) {
        node = ngx_http_kefu_redis_cluster_node(seed[i].host.data,
                                                seed[i].host.len,
                                                seed[i].port, NULL);
        if (node == NULL) {
            return NGX_ERROR;
        }

        node->seed = 1;
        ngx_http_kefu_redis_connect_soon(&node->conn);
    }

    ngx_add_timer(&rd->refresh, NGX_HTTP_KEFU_REDIS_REFRESH_FAST);

    return NGX_OK;
}


/* asks for a refresh at once (now) or soon; never later than planned */
void
ngx_http_kefu_redis_cluster_refresh(ngx_uint_t now)
{
    ngx_msec_t              delay;
    ngx_http_kefu_redis_t  *rd;

    rd = &ngx_http_kefu_redis;

    if (rd->exiting || rd->slots == NULL) {
        return;
    }

    delay = now ? 1 : NGX_HTTP_KEFU_REDIS_REFRESH_SOON;

    if (rd->refresh.timer_set) {
        if ((ngx_msec_int_t) (rd->refresh.timer.key - ngx_current_msec)
            <= (ngx_msec_int_t) delay)
        {
            return;
        }

        ngx_del_timer(&rd->refresh);
    }

    ngx_add_timer(&rd->refresh, delay);
}


static void
ngx_http_kefu_redis_refresh_handler(ngx_event_t *ev)
{
    ngx_queue_t                 *q, *start;
    ngx_msec_t                   interval;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_node_t  *node, *pick, *any;

    rd = &ngx_http_kefu_redis;

    if (rd->exiting || ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    interval = ngx_http_kefu_redis_connected()
               ? NGX_HTTP_KEFU_REDIS_REFRESH
               : NGX_HTTP_KEFU_REDIS_REFRESH_FAST;

    ngx_add_timer(&rd->refresh, interval);

    /* one CLUSTER SLOTS at a time, unless its node stopped answering */
    if (rd->refresh_sent
        && ngx_current_msec - rd->refresh_sent
           < rd->conf->timeout * (1 + NGX_HTTP_KEFU_REDIS_STALL))
    {
        return;
    }

    rd->refresh_sent = 0;

    /* ask the masters in turn (one dead node must not blind us), any
     * connected node when none answers */

    pick = NULL;
    any = NULL;

    start = rd->refresh_node ? &rd->refresh_node->queue
                             : ngx_queue_sentinel(&rd->nodes);
    q = start;

    do {
        q = ngx_queue_next(q);

        if (q == ngx_queue_sentinel(&rd->nodes)) {
            continue;
        }

        node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

        if (node->conn.state != NGX_HTTP_KEFU_REDIS_READY) {
            continue;
        }

        if (node->slots) {
            pick = node;
            break;
        }

        if (any == NULL) {
            any = node;
        }

    } while (q != start);

    if (pick == NULL) {
        pick = any;
    }

    /* what is no longer a master is let go once idle */
    for (q = ngx_queue_head(&rd->nodes);
         q != ngx_queue_sentinel(&rd->nodes);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

        if (pick == NULL && node->seed && node->conn.ac == NULL) {
            /* nothing to ask: the seeds again, whatever the map says */
            ngx_http_kefu_redis_connect(&node->conn);
            continue;
        }

        if (node != pick && node->conn.ac != NULL
            && ngx_queue_empty(&node->conn.wire)
            && !ngx_http_kefu_redis_wanted(&node->conn))
        {
            ngx_http_kefu_redis_close(&node->conn);
        }

        if (node->durable.ac != NULL && ngx_queue_empty(&node->durable.wire)
            && !ngx_http_kefu_redis_wanted(&node->durable))
        {
            ngx_http_kefu_redis_close(&node->durable);
        }
    }

    if (pick == NULL) {
        return;
    }

    if (ngx_http_kefu_redis_command(pick->conn.ac,
                                    ngx_http_kefu_redis_refresh_cb, pick, 2,
                                    ngx_http_kefu_redis_cluster_slots)
        != NGX_OK)
    {
        return;
    }

    rd->refresh_node = pick;
    rd->refresh_sent = ngx_current_msec ? ngx_current_msec : 1;
}


static void
ngx_http_kefu_redis_refresh_cb(redisAsyncContext *ac, void *data,
    void *privdata)
{
    redisReply                  *reply = data;
    ngx_uint_t                   level;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_node_t  *asked = privdata;

    rd = &ngx_http_kefu_redis;

    rd->refresh_sent = 0;

    if (reply == NULL || rd->exiting) {
        /* the connection went: its loss asks for another refresh */
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        level = rd->refresh_error ? NGX_LOG_INFO : NGX_LOG_ERR;
        rd->refresh_error = 1;

        if (reply->type == REDIS_REPLY_ERROR
            && ngx_strstrn((u_char *) reply->str, "cluster support", 15 - 1)
               != NULL)
        {
            ngx_log_error(level, rd->log, 0,
                          "kefu_redis_cluster: %V is not in cluster mode "
                          "(%s); no slot map", &asked->addr.name,
                          reply->str);

        } else {
            ngx_log_error(level, rd->log, 0,
                          "kefu_redis_cluster: CLUSTER SLOTS on %V failed: "
                          "%s", &asked->addr.name,
                          reply->type == REDIS_REPLY_ERROR
                          ? reply->str : "not an array");
        }

        return;
    }

    if (ngx_http_kefu_redis_map_read(reply, asked) != NGX_OK) {
        return;
    }

    rd->refresh_error = 0;
    ngx_http_kefu_redis_map_apply();
}


/* the reply into rd->next: [[start, end, [host, port, ...], ...], ...] */
static ngx_uint_t
ngx_http_kefu_redis_map_read(redisReply *reply,
    ngx_http_kefu_redis_node_t *asked)
{
    size_t                       i;
    long long                    start, end, s;
    redisReply                  *r, *m;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_node_t  *node;

    rd = &ngx_http_kefu_redis;

    ngx_memzero(rd->next, NGX_HTTP_KEFU_REDIS_SLOTS
                          * sizeof(ngx_http_kefu_redis_node_t *));

    for (i = 0; i < reply->elements; i++) {
        r = reply->element[i];

        if (r->type != REDIS_REPLY_ARRAY || r->elements < 3
            || r->element[0]->type != REDIS_REPLY_INTEGER
            || r->element[1]->type != REDIS_REPLY_INTEGER
            || r->element[2]->type != REDIS_REPLY_ARRAY
            || r->element[2]->elements < 2
            || r->element[2]->element[0]->type != REDIS_REPLY_STRING
            || r->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
        {
            goto invalid;
        }

        start = r->element[0]->integer;
        end = r->element[1]->integer;
        m = r->element[2];

        if (start < 0 || end < start || end >= NGX_HTTP_KEFU_REDIS_SLOTS
            || m->element[1]->integer < 1 || m->element[1]->integer > 65535)
        {
            goto invalid;
        }

        /* "?": the master's address is not known yet; its slots wait */
        if (m->element[0]->len == 1 && m->element[0]->str[0] == '?') {
            continue;
        }

        node = ngx_http_kefu_redis_cluster_node(
                   (u_char *) m->element[0]->str, m->element[0]->len,
                   (ngx_int_t) m->element[1]->integer, asked);
        if (node == NULL) {
            continue;
        }

        for (s = start; s <= end; s++) {
            rd->next[s] = node;
        }
    }

    return NGX_OK;

invalid:

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "kefu_redis_cluster: CLUSTER SLOTS of %V: unexpected "
                  "reply", &asked->addr.name);

    return NGX_ERROR;
}


/* rd->next becomes the map; masters without a connection get one */
static void
ngx_http_kefu_redis_map_apply(void)
{
    ngx_uint_t                    s, changed, masters;
    ngx_queue_t                  *q;
    ngx_http_kefu_redis_t        *rd;
    ngx_http_kefu_redis_node_t   *node, **tmp;

    rd = &ngx_http_kefu_redis;

    rd->stats.refreshes++;

    changed = ngx_memcmp(rd->slots, rd->next, NGX_HTTP_KEFU_REDIS_SLOTS
                         * sizeof(ngx_http_kefu_redis_node_t *));

    if (!changed) {
        return;
    }

    tmp = rd->slots;
    rd->slots = rd->next;
    rd->next = tmp;

    for (q = ngx_queue_head(&rd->nodes);
         q != ngx_queue_sentinel(&rd->nodes);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);
        node->slots = 0;
    }

    rd->covered = 0;

    for (s = 0; s < NGX_HTTP_KEFU_REDIS_SLOTS; s++) {
        if (rd->slots[s]) {
            rd->slots[s]->slots++;
            rd->covered++;
        }
    }

    masters = 0;

    for (q = ngx_queue_head(&rd->nodes);
         q != ngx_queue_sentinel(&rd->nodes);
         q = ngx_queue_next(q))
    {
        node = ngx_queue_data(q, ngx_http_kefu_redis_node_t, queue);

        if (node->slots == 0) {
            continue;
        }

        masters++;

        /* inside another context's callback: a new context is safe */
        if (node->conn.ac == NULL && !node->conn.reconnect.timer_set) {
            ngx_http_kefu_redis_connect(&node->conn);
        }
    }

    ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                  "kefu_redis_cluster: slot map: %ui masters, %ui of %d "
                  "slots served", masters, rd->covered,
                  NGX_HTTP_KEFU_REDIS_SLOTS);

    rd->masters = masters;

    if (!ngx_queue_empty(&rd->retry)) {
        if (rd->retry_timer.timer_set) {
            ngx_del_timer(&rd->retry_timer);
        }

        ngx_add_timer(&rd->retry_timer, 1);
    }
}


/*
 * What a cluster's error reply does to a part sent on conn: 1 when the
 * part goes out again (redirected, or retried within its deadline), 0
 * when the reply is the answer.
 */
ngx_uint_t
ngx_http_kefu_redis_cluster_redirect(ngx_http_kefu_redis_part_t *part,
    ngx_http_kefu_redis_conn_t *conn, redisReply *reply)
{
    u_char                      *p, *last, *colon;
    ngx_int_t                    slot, port;
    ngx_uint_t                   moved;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_node_t  *node, *old;

    rd = &ngx_http_kefu_redis;

    p = (u_char *) reply->str;
    last = p + reply->len;

    if (reply->len > 6 && ngx_strncmp(p, "MOVED ", 6) == 0) {
        moved = 1;
        p += 6;

    } else if (reply->len > 4 && ngx_strncmp(p, "ASK ", 4) == 0) {
        moved = 0;
        p += 4;

    } else {
        if ((ngx_msec_int_t) (part->op->deadline - ngx_current_msec)
            <= NGX_HTTP_KEFU_REDIS_RETRY)
        {
            return 0;
        }

        /* a multi-key command on a slot being moved, or a cluster that
         * lost a master: both pass */
        if (ngx_strncmp(p, "TRYAGAIN", 8) == 0
            || ngx_strncmp(p, "CLUSTERDOWN", 11) == 0)
        {
            /* the ASK that led here is asked again after the wait: a
             * slot still migrating is no redirect loop (the deadline
             * bounds it) */
            part->redirects = 0;
            ngx_http_kefu_redis_part_wait(part, NGX_HTTP_KEFU_REDIS_RETRY);
            ngx_http_kefu_redis_cluster_refresh(0);
            return 1;
        }

        return 0;
    }

    /* "MOVED 3999 127.0.0.1:6381": slot, then host:port (the host may be
     * empty, the same as conn's; IPv6 has colons of its own) */

    colon = NULL;

    for (slot = 0; p < last && *p >= '0' && *p <= '9'; p++) {
        slot = slot * 10 + (*p - '0');

        if (slot >= NGX_HTTP_KEFU_REDIS_SLOTS) {
            return 0;
        }
    }

    if (p == last || *p++ != ' ') {
        return 0;
    }

    for (colon = last - 1; colon >= p && *colon != ':'; colon--) {
        /* void */
    }

    if (colon < p) {
        return 0;
    }

    port = ngx_atoi(colon + 1, last - colon - 1);
    if (port < 1 || port > 65535) {
        return 0;
    }

    if (part->redirects++ >= NGX_HTTP_KEFU_REDIS_REDIRECTS) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "kefu_redis_cluster: more than %d redirects for slot "
                      "%i, last \"%s\"", NGX_HTTP_KEFU_REDIS_REDIRECTS, slot,
                      reply->str);
        return 0;
    }

    node = ngx_http_kefu_redis_cluster_node(p, colon - p, port, conn->node);
    if (node == NULL) {
        return 0;
    }

    if (moved) {
        conn->node->moved++;

        old = rd->slots[slot];

        if (old != node) {
            if (old == NULL) {
                rd->covered++;

            } else if (--old->slots == 0) {
                rd->masters--;
            }

            if (node->slots++ == 0) {
                rd->masters++;
            }

            rd->slots[slot] = node;
        }

        ngx_http_kefu_redis_cluster_refresh(0);

    } else {
        conn->node->ask++;
        part->ask = node;
    }

    ngx_http_kefu_redis_part_wait(part, 0);

    return 1;
}


/*
 * The node of a cluster address from a map or a redirect: numeric only
 * (a host name would need a blocking lookup); an empty host is asked's.
 */
static ngx_http_kefu_redis_node_t *
ngx_http_kefu_redis_cluster_node(u_char *host, size_t len, ngx_int_t port,
    ngx_http_kefu_redis_node_t *asked)
{
    u_char                       name[NGX_SOCKADDR_STRLEN + 8];
    u_char                       buf[NGX_SOCKADDR_STRLEN + 1];
    ngx_uint_t                   v6;
    ngx_http_kefu_redis_t       *rd;
    ngx_http_kefu_redis_addr_t   addr;
#if (NGX_HAVE_INET6)
    u_char                       a6[16];
#endif

    rd = &ngx_http_kefu_redis;

    if (len == 0 && asked != NULL) {
        host = asked->addr.host.data;
        len = asked->addr.host.len;
    }

    if (len == 0 || len > NGX_SOCKADDR_STRLEN) {
        goto invalid;
    }

    v6 = (ngx_strlchr(host, host + len, ':') != NULL);

    if (v6) {
#if (NGX_HAVE_INET6)
        if (ngx_inet6_addr(host, len, a6) != NGX_OK) {
            goto invalid;
        }
#else
        goto invalid;
#endif

    } else if (ngx_inet_addr(host, len) == INADDR_NONE) {
        goto invalid;
    }

    ngx_memcpy(buf, host, len);
    buf[len] = '\0';

    ngx_memzero(&addr, sizeof(ngx_http_kefu_redis_addr_t));

    addr.host.data = buf;
    addr.host.len = len;
    addr.port = (in_port_t) port;
    addr.name.data = name;
    addr.name.len = (v6 ? ngx_sprintf(name, "[%s]:%i", buf, port)
                        : ngx_sprintf(name, "%s:%i", buf, port))
                    - name;

    return ngx_http_kefu_redis_node(&addr);

invalid:

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "kefu_redis_cluster: node address \"%*s\" is not a "
                  "numeric IP address (set cluster-preferred-endpoint-type "
                  "ip)", len, host);

    return NULL;
}
