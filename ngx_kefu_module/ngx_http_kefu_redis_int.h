/*
 * ngx_kefu: what the files of the Redis client share (not for endpoints).
 *
 *   ngx_http_kefu_redis_conf.c      directives, addresses, scripts
 *   ngx_http_kefu_redis_event.c     hiredis <-> nginx events, reply guard
 *   ngx_http_kefu_redis_conn.c      one connection: connect, handshake,
 *                                   backoff, watchdog
 *   ngx_http_kefu_redis_op.c        batches: parts, replies, EVAL fallback
 *   ngx_http_kefu_redis_wait.c      WAITs shared by the scripts before them
 *   ngx_http_kefu_redis_cluster.c   slot map, discovery, redirects
 *   ngx_http_kefu_redis.c           the worker: nodes, routing, life
 *
 * A worker owns nodes (one with `kefu_redis`, the masters it learnt with
 * `kefu_redis_cluster`); a node owns its connection and a second,
 * "durable" one for the loss report's script and WAIT, opened on first
 * use.  A request's batch is an op; each command of it is a part, sent
 * on the connection of the node that serves its key.
 */

#ifndef NGX_HTTP_KEFU_REDIS_INT_H
#define NGX_HTTP_KEFU_REDIS_INT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

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

#define NGX_HTTP_KEFU_REDIS_SLOTS            16384
#define NGX_HTTP_KEFU_REDIS_NOSLOT           ((ngx_uint_t) -1)
#define NGX_HTTP_KEFU_REDIS_MAX_NODES        1024
/* a part waiting for a node (failover, TRYAGAIN) is tried this often */
#define NGX_HTTP_KEFU_REDIS_RETRY            20


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


typedef struct ngx_http_kefu_redis_node_s  ngx_http_kefu_redis_node_t;
typedef struct ngx_http_kefu_redis_conn_s  ngx_http_kefu_redis_conn_t;
typedef struct ngx_http_kefu_redis_op_s    ngx_http_kefu_redis_op_t;
typedef struct ngx_http_kefu_redis_part_s  ngx_http_kefu_redis_part_t;


struct ngx_http_kefu_redis_conn_s {
    ngx_http_kefu_redis_node_t      *node;
    redisAsyncContext               *ac;
    ngx_http_kefu_redis_state_e      state;
    ngx_http_kefu_redis_err_e        last_error;
    ngx_uint_t                       handshake;     /* replies expected */
    ngx_uint_t                       step;          /* replies received */
    ngx_msec_t                       backoff;
    ngx_uint_t                       attempts;
    ngx_uint_t                       generation;    /* handshakes done */
    ngx_uint_t                       seq;           /* commands sent */
    ngx_queue_t                      wire;          /* parts, send order */
    ngx_queue_t                      waits;         /* WAITs in flight */
    ngx_event_t                      reconnect;
    ngx_event_t                      connect_timer;
    ngx_event_t                      watchdog;
    unsigned                         durable:1;
    unsigned                         used:1;        /* durable: wanted */
};


struct ngx_http_kefu_redis_node_s {
    ngx_queue_t                      queue;         /* rd.nodes */
    ngx_http_kefu_redis_addr_t       addr;
    ngx_http_kefu_redis_conn_t       conn;
    ngx_http_kefu_redis_conn_t       durable;       /* pinned scripts */
    ngx_uint_t                       slots;         /* owned in the map */
    ngx_uint_t                       moved;         /* redirects it sent */
    ngx_uint_t                       ask;
    unsigned                         seed:1;
};


/*
 * One batch of one request (or of nobody: eval_detached).  Allocated
 * with ngx_alloc, not from the request pool: hiredis holds its parts as
 * privdata until their replies (or the disconnect) even when the request
 * is long gone.  The parts and a copy of their arguments follow it.
 */
struct ngx_http_kefu_redis_op_s {
    ngx_queue_t                      done;      /* rd.done */
    ngx_event_t                      timer;     /* command timeout */
    ngx_http_request_t              *r;         /* NULL once detached */
    ngx_pool_cleanup_t              *cln;
    ngx_http_kefu_redis_handler_pt   handler;
    void                            *data;
    ngx_http_kefu_redis_reply_t    **replies;   /* in r->pool */
    ngx_http_kefu_redis_pin_t       *pin;       /* in r->pool */
    ngx_uint_t                       n;         /* parts */
    ngx_uint_t                       received;
    ngx_uint_t                       outstanding;   /* hiredis callbacks */
    ngx_uint_t                       retrying;      /* parts in rd.retry */
    ngx_msec_t                       deadline;
    ngx_int_t                        rc;
    ngx_uint_t                       script;
    ngx_http_kefu_redis_part_t      *part;
    unsigned                         waiting:1;     /* handler owed */
    unsigned                         queued:1;      /* in rd.done */
    unsigned                         detached:1;    /* eval_detached() */
    unsigned                         eval:1;        /* EVALSHA script */
    unsigned                         durable:1;     /* durable connection */
};


struct ngx_http_kefu_redis_part_s {
    ngx_queue_t                      wire;      /* conn->wire */
    ngx_queue_t                      retry;     /* rd.retry */
    ngx_http_kefu_redis_op_t        *op;
    ngx_http_kefu_redis_conn_t      *conn;      /* reply owed from */
    ngx_http_kefu_redis_node_t      *ask;       /* ASK target, once */
    ngx_str_t                       *argv;
    ngx_uint_t                       argc;
    ngx_uint_t                       index;     /* in op->replies */
    ngx_uint_t                       slot;
    ngx_uint_t                       redirects;
    ngx_uint_t                       seq;       /* conn->seq when sent */
    ngx_msec_t                       sent;
    ngx_msec_t                       due;       /* retry not before */
    unsigned                         retried:1;     /* EVAL sent */
    unsigned                         queued:1;      /* in rd.retry */
};


typedef struct {
    ngx_http_kefu_redis_conf_t      *conf;
    ngx_log_t                       *log;
    ngx_queue_t                      nodes;
    ngx_uint_t                       nnodes;
    ngx_queue_t                      done;
    ngx_queue_t                      retry;
    ngx_uint_t                       waiting;       /* parts in retry */
    ngx_event_t                      retry_timer;
    const char                     **argv;          /* scratch for hiredis */
    size_t                          *argvlen;
    ngx_uint_t                       nargv;
    ngx_http_kefu_redis_stats_t      stats;
    redisReplyObjectFunctions       *reply_fn;      /* hiredis' own */
    redisReplyObjectFunctions        checked_fn;    /* wrapping them */

    /* cluster */
    ngx_http_kefu_redis_node_t     **slots;         /* NULL: single */
    ngx_http_kefu_redis_node_t     **next;          /* map being read */
    ngx_uint_t                       masters;
    ngx_uint_t                       covered;       /* slots with one */
    ngx_event_t                      refresh;
    ngx_msec_t                       refresh_sent;  /* 0: none in flight */
    ngx_http_kefu_redis_node_t      *refresh_node;  /* asked last */
    unsigned                         refresh_error:1;

    unsigned                         exiting:1;
} ngx_http_kefu_redis_t;


/* the worker's only mutable Redis state */
extern ngx_http_kefu_redis_t  ngx_http_kefu_redis;


/* ngx_http_kefu_redis_event.c */
ngx_int_t ngx_http_kefu_redis_attach(ngx_http_kefu_redis_conn_t *conn,
    redisAsyncContext *ac);
ngx_int_t ngx_http_kefu_redis_command(redisAsyncContext *ac,
    redisCallbackFn *fn, void *privdata, ngx_uint_t argc, ngx_str_t *argv);

/* ngx_http_kefu_redis_conn.c */
void ngx_http_kefu_redis_conn_init(ngx_http_kefu_redis_conn_t *conn,
    ngx_http_kefu_redis_node_t *node, ngx_uint_t durable);
void ngx_http_kefu_redis_connect(ngx_http_kefu_redis_conn_t *conn);
void ngx_http_kefu_redis_drop(ngx_http_kefu_redis_conn_t *conn,
    ngx_uint_t reconnect);
void ngx_http_kefu_redis_close(ngx_http_kefu_redis_conn_t *conn);
void ngx_http_kefu_redis_watch(ngx_http_kefu_redis_conn_t *conn);
ngx_uint_t ngx_http_kefu_redis_wanted(ngx_http_kefu_redis_conn_t *conn);

/* ngx_http_kefu_redis_op.c */
void ngx_http_kefu_redis_run_done(void);
void ngx_http_kefu_redis_run_retry(void);
void ngx_http_kefu_redis_part_wait(ngx_http_kefu_redis_part_t *part,
    ngx_msec_t delay);
void ngx_http_kefu_redis_op_detach(ngx_http_kefu_redis_op_t *op);
void ngx_http_kefu_redis_op_free(ngx_http_kefu_redis_op_t *op);

/* ngx_http_kefu_redis.c */
ngx_http_kefu_redis_node_t *ngx_http_kefu_redis_node(
    ngx_http_kefu_redis_addr_t *addr);
ngx_http_kefu_redis_conn_t *ngx_http_kefu_redis_route(
    ngx_http_kefu_redis_part_t *part);
ngx_uint_t ngx_http_kefu_redis_slot(ngx_str_t *key);
ngx_uint_t ngx_http_kefu_redis_serving(void);
void ngx_http_kefu_redis_ready(ngx_http_kefu_redis_conn_t *conn);
void ngx_http_kefu_redis_connect_soon(ngx_http_kefu_redis_conn_t *conn);

/* ngx_http_kefu_redis_cluster.c */
ngx_int_t ngx_http_kefu_redis_cluster_init(ngx_cycle_t *cycle);
void ngx_http_kefu_redis_cluster_refresh(ngx_uint_t now);
ngx_uint_t ngx_http_kefu_redis_cluster_redirect(
    ngx_http_kefu_redis_part_t *part, ngx_http_kefu_redis_conn_t *conn,
    redisReply *reply);

#endif /* NGX_HTTP_KEFU_REDIS_INT_H */
