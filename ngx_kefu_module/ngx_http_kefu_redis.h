/*
 * ngx_kefu: asynchronous Redis for request handlers.
 *
 * With `kefu_redis`, one hiredis async connection per worker, driven by
 * nginx's event loop, shared by every request of the worker; commands
 * pipeline in FIFO order.  With `kefu_redis_cluster`, one such
 * connection per master of a Redis Cluster, each command routed by the
 * hash slot of its key.  A request sends a batch (one or more commands,
 * or a script) and gets one callback with replies copied into its pool.
 * If the request dies first, the callback is not called.  Scripts whose
 * writes are waited for on replicas (eval_pinned, wait) go on a second
 * connection of their node, opened on first use.
 */

#ifndef NGX_HTTP_KEFU_REDIS_H
#define NGX_HTTP_KEFU_REDIS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct {
    ngx_str_t          name;            /* as written, for logs */
    ngx_str_t          host;            /* numeric IP, NUL-terminated */
    ngx_str_t          unix_path;       /* unix socket, NUL-terminated */
    in_port_t          port;
} ngx_http_kefu_redis_addr_t;


typedef struct {
    ngx_str_t          name;            /* as written, for logs */
    ngx_array_t       *addrs;           /* ngx_http_kefu_redis_addr_t:
                                           the server, or the seeds */
    ngx_str_t          user;            /* user=: an ACL user, may be empty */
    ngx_str_t          password;        /* from password_file=, may be empty */
    ngx_int_t          db;
    ngx_msec_t         timeout;         /* per command */
    ngx_msec_t         connect_timeout;
    ngx_uint_t         max_pending;     /* commands in flight per worker */
    ngx_array_t       *scripts;         /* ngx_http_kefu_redis_script_t */
    unsigned           configured:1;
    unsigned           cluster:1;       /* kefu_redis_cluster */
} ngx_http_kefu_redis_conf_t;


/* a Redis script embedded at build time: ngx_kefu_module/lua/NAME.lua,
 * as ngx_http_kefu_script_NAME (the generated ngx_http_kefu_scripts.h) */
typedef struct {
    ngx_str_t          name;            /* NAME */
    ngx_str_t          source;          /* the file, byte for byte */
} ngx_http_kefu_lua_t;


typedef struct {
    ngx_str_t          name;            /* for logs */
    ngx_str_t          source;          /* Lua source */
    u_char             sha1[41];        /* hex, NUL-terminated */
} ngx_http_kefu_redis_script_t;


/* reply types are hiredis' REDIS_REPLY_* values */
typedef struct ngx_http_kefu_redis_reply_s  ngx_http_kefu_redis_reply_t;

struct ngx_http_kefu_redis_reply_s {
    int                             type;
    long long                       integer;
    ngx_str_t                       str;    /* string, status or error */
    size_t                          elements;
    ngx_http_kefu_redis_reply_t   **element;
};


/* argv[1] is the key the command is routed by in a cluster */
typedef struct {
    ngx_uint_t         argc;
    ngx_str_t         *argv;
} ngx_http_kefu_redis_cmd_t;


/* the connection a script's write went to and its place there, so that
 * a WAIT can follow it (kefu_report_replicas); filled by eval_pinned(),
 * read by wait(); lives in the request */
typedef struct {
    void              *conn;
    ngx_uint_t         generation;
    ngx_uint_t         seq;             /* the script's command number */
} ngx_http_kefu_redis_pin_t;


/*
 * rc is NGX_OK with n replies (one per command; a failed command gives a
 * REDIS_REPLY_ERROR reply), or NGX_ERROR when Redis could not answer in
 * time (disconnect, timeout): the handler then answers 503.
 */
typedef void (*ngx_http_kefu_redis_handler_pt)(ngx_http_request_t *r,
    void *data, ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies,
    ngx_uint_t n);


/*
 * rc is NGX_OK with the number of replicas that acknowledged the write
 * (WAIT's reply), or NGX_ERROR when that is unknown: the connection was
 * lost, the reply was an error or did not come within `timeout`.
 */
typedef void (*ngx_http_kefu_redis_wait_pt)(ngx_http_request_t *r,
    void *data, ngx_int_t rc, ngx_uint_t replicas);


/* per worker; counters only grow, pending is a gauge */
typedef struct {
    ngx_atomic_uint_t  commands;        /* sent, EVAL retries included */
    ngx_atomic_uint_t  errors;          /* connection failures: connect,
                                           handshake, lost, stalled */
    ngx_atomic_uint_t  timeouts;        /* batches past `timeout` */
    ngx_atomic_uint_t  reconnects;      /* connection attempts but the 1st */
    ngx_atomic_uint_t  rejected;        /* refused while down or full */
    ngx_atomic_uint_t  pending;         /* commands awaiting a reply */
    ngx_atomic_uint_t  refreshes;       /* cluster slot maps read */
} ngx_http_kefu_redis_stats_t;


/* `kefu_redis` and `kefu_redis_cluster` directives; conf is the
 * module's main conf, cmd->offset points at its
 * ngx_http_kefu_redis_conf_t. */
char *ngx_http_kefu_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_kefu_redis_cluster_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/* Registers a Lua script at configuration time; returns its index. */
ngx_int_t ngx_http_kefu_redis_add_script(ngx_conf_t *cf,
    ngx_http_kefu_redis_conf_t *rcf, const ngx_http_kefu_lua_t *lua);

ngx_int_t ngx_http_kefu_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_kefu_redis_conf_t *rcf);
void ngx_http_kefu_redis_exit_process(ngx_cycle_t *cycle);

/*
 * Queues cmds for r.  NGX_OK: handler will be called exactly once, later,
 * unless r is finalized or terminated first.  NGX_DECLINED: Redis is not
 * connected or the queue is full; answer 503 now.  NGX_ERROR: no memory.
 * The caller keeps r alive (r->main->count) until the handler ran.
 * cmds are serialized at once: they need not outlive the call.  The
 * handler runs from the Redis connection's event (or its timer), never
 * inside send(); ngx_http_run_posted_requests() follows it.
 */
ngx_int_t ngx_http_kefu_redis_send(ngx_http_request_t *r,
    ngx_http_kefu_redis_cmd_t *cmds, ngx_uint_t n,
    ngx_http_kefu_redis_handler_pt handler, void *data);

/* Like send with one command: EVALSHA script keys... args..., falling back
 * to EVAL on NOSCRIPT.  argv excludes EVALSHA/sha/numkeys; it is copied
 * to r->pool for the fallback. */
ngx_int_t ngx_http_kefu_redis_eval(ngx_http_request_t *r, ngx_uint_t script,
    ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_kefu_redis_handler_pt handler, void *data);

/* Like eval, and fills pin with the connection that ran the script: a
 * second connection of the key's node that carries only such scripts
 * and their WAITs, so that a WAIT never holds other commands. */
ngx_int_t ngx_http_kefu_redis_eval_pinned(ngx_http_request_t *r,
    ngx_uint_t script, ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_kefu_redis_pin_t *pin, ngx_http_kefu_redis_handler_pt handler,
    void *data);

/*
 * Waits until `replicas` replicas have the write of pin's script (WAIT
 * replicas timeout on its connection).  Requests whose scripts went
 * before a WAIT share it: one WAIT in flight per connection covers them
 * all ("group commit").  NGX_OK: handler will be called exactly once,
 * later, within the kefu_redis timeout, unless r is finalized first;
 * the caller keeps r alive as for send().  NGX_DECLINED: the
 * connection was lost since the script ran (the write may not be where
 * this connection's WAIT would count) or is too busy.  NGX_ERROR: no
 * memory.
 */
ngx_int_t ngx_http_kefu_redis_wait(ngx_http_request_t *r,
    ngx_http_kefu_redis_pin_t *pin, ngx_uint_t replicas, ngx_msec_t timeout,
    ngx_http_kefu_redis_wait_pt handler, void *data);

/* Like eval, for a write nobody waits for: NGX_OK once queued (a failed
 * reply is logged), NGX_DECLINED when Redis is down or the queue full. */
ngx_int_t ngx_http_kefu_redis_eval_detached(ngx_uint_t script,
    ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv);

/* 1 when an error reply says the command may succeed later (LOADING,
 * BUSY, OOM, ...): 503; else retrying will not help: 500 */
ngx_uint_t ngx_http_kefu_redis_error_transient(ngx_str_t *err);

/* 1 when the handshake completed and send() accepts commands; in a
 * cluster, when every slot has a master and all of them are connected */
ngx_uint_t ngx_http_kefu_redis_connected(void);
/* 1 when this worker has a `kefu_redis` to talk to */
ngx_uint_t ngx_http_kefu_redis_configured(void);
ngx_http_kefu_redis_stats_t *ngx_http_kefu_redis_stats(void);


/* a cluster's topology as this worker sees it */
typedef struct {
    ngx_str_t          name;            /* ip:port */
    ngx_uint_t         slots;           /* 0: not a master in the map */
    ngx_uint_t         up;              /* connections ready */
    ngx_uint_t         moved;           /* redirects this node answered */
    ngx_uint_t         ask;
} ngx_http_kefu_redis_node_info_t;

/* 1 with kefu_redis_cluster, with the masters in the map and the
 * connections up; node_info(i) for i = 0.. until it returns NGX_DONE
 * (a node keeps its i for the life of the worker) */
ngx_uint_t ngx_http_kefu_redis_cluster(ngx_uint_t *masters, ngx_uint_t *up);
ngx_int_t ngx_http_kefu_redis_node_info(ngx_uint_t i,
    ngx_http_kefu_redis_node_info_t *info);

#endif /* NGX_HTTP_KEFU_REDIS_H */
