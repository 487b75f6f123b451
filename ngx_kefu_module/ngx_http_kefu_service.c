/*
 * ngx_kefu: human handoff and feedback.
 *
 *   POST /v1/handoff   {session_id, reason?}           -> 201 ticket
 *   POST /v1/feedback  {session_id, turn, helpful, reason?} -> 204
 *
 * Both read the /v1/ask session first (the user's slot) together with
 * what they wrote before for it (the slot of the user's bucket), then
 * write with one Lua script on the bucket's slot that applies only if
 * that earlier state is still current.  Every key of a script carries
 * the bucket's hash tag {T#NN}: legal in Redis Cluster.
 */

#include "ngx_http_kefu_backoffice.h"
#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_scripts.h"
#include "ngx_http_kefu_tally.h"
#include "kefu_report.h"
#include "kefu_validate.h"


#define NGX_HTTP_KEFU_TICKET_TTL    "604800"        /* 7 days */
#define NGX_HTTP_KEFU_UQ_TTL        "172800"        /* a user's day + 1 */
#define NGX_HTTP_KEFU_Q_MAX         200             /* as /v1/ask keeps */
#define NGX_HTTP_KEFU_QUEUE_EPOCH   1767225600      /* 2026-01-01 UTC */


typedef struct {
    ngx_str_t               session_id;
    ngx_str_t               session_key;
    ngx_str_t               mark_key;       /* handoff marker, fb hash */
    ngx_str_t               reason;
    kefu_session_t          sess;
    ngx_str_t               prev;           /* marker / earlier verdict */
    ngx_str_t               question;       /* feedback: normalised */
    u_char                  today[16];      /* feedback: "d:YYYYMMDD" */
    u_char                  prev_day[16];   /* the earlier verdict's */
    ngx_str_t               ticket;         /* handoff: its ticket */
    int64_t                 level;
    ngx_uint_t              created;
    int64_t                 turn;
    ngx_uint_t              helpful;
    ngx_uint_t              handoff;
} ngx_http_kefu_svc_t;


static const kefu_field_t  ngx_http_kefu_handoff_fields[] = {
    { "session_id", KEFU_F_IDENT, 1, 1, 64 },
    { "reason", KEFU_F_STRING, 0, 1, KEFU_REASON_MAX },
    { NULL, 0, 0, 0, 0 }
};


static const kefu_field_t  ngx_http_kefu_feedback_fields[] = {
    { "session_id", KEFU_F_IDENT, 1, 1, 64 },
    { "turn", KEFU_F_INT, 1, 1, 1000000000 },
    { "helpful", KEFU_F_BOOL, 1, 0, 0 },
    { "reason", KEFU_F_STRING, 0, 1, KEFU_REASON_MAX },
    { NULL, 0, 0, 0, 0 }
};


static ngx_int_t ngx_http_kefu_handoff(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_feedback(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_svc_load(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_svc_t *svc);
static void ngx_http_kefu_svc_loaded(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_handoff_write(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_svc_t *svc);
static void ngx_http_kefu_handoff_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static void ngx_http_kefu_handoff_placed(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_feedback_write(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_svc_t *svc);
static void ngx_http_kefu_feedback_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_feedback_tally(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, u_char *day, double incr);
static int64_t ngx_http_kefu_arrival(ngx_uint_t bucket);
static ngx_int_t ngx_http_kefu_stale(ngx_http_request_t *r);


/* kmcf->service_scripts[] */
static const ngx_http_kefu_lua_t  *const ngx_http_kefu_service_scripts[] = {
    &ngx_http_kefu_script_handoff,
    &ngx_http_kefu_script_feedback,
    NULL
};


static ngx_http_kefu_route_t  ngx_http_kefu_service_routes[] = {
    { ngx_string("handoff"), NGX_HTTP_POST, ngx_http_kefu_handoff, 1, 0, 0 },
    { ngx_string("feedback"), NGX_HTTP_POST, ngx_http_kefu_feedback,
      1, 0, 0 },
    { ngx_null_string, 0, NULL, 0, 0, 0 }
};


const ngx_http_kefu_endpoint_t  ngx_http_kefu_service_endpoint = {
    ngx_http_kefu_service_routes,
    ngx_http_kefu_service_scripts,
    offsetof(ngx_http_kefu_main_conf_t, service_scripts),
    NULL, NULL, NULL
};


/* POST /v1/handoff */

static ngx_int_t
ngx_http_kefu_handoff(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    const kefu_json_t    *v[2];
    ngx_http_kefu_svc_t  *svc;

    if (kefu_validate(ctx->body, ngx_http_kefu_handoff_fields, v,
                      ctx->err_buf, sizeof(ctx->err_buf))
        != KEFU_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request", ctx->err_buf);
    }

    svc = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_svc_t));
    if (svc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = svc;
    svc->handoff = 1;
    svc->session_id.data = v[0]->str.data;
    svc->session_id.len = v[0]->str.len;

    if (v[1] != NULL) {
        svc->reason.data = v[1]->str.data;
        svc->reason.len = v[1]->str.len;
    }

    if (ngx_http_kefu_owner_key(r, ctx, "agents:open", &svc->session_id,
                                &svc->mark_key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kefu_svc_load(r, ctx, svc);
}


/* POST /v1/feedback */

static ngx_int_t
ngx_http_kefu_feedback(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    const kefu_json_t    *v[4];
    ngx_http_kefu_svc_t  *svc;

    if (kefu_validate(ctx->body, ngx_http_kefu_feedback_fields, v,
                      ctx->err_buf, sizeof(ctx->err_buf))
        != KEFU_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request", ctx->err_buf);
    }

    svc = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_svc_t));
    if (svc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = svc;
    svc->session_id.data = v[0]->str.data;
    svc->session_id.len = v[0]->str.len;
    svc->turn = v[1]->integer;
    svc->helpful = v[2]->boolean ? 1 : 0;

    if (v[3] != NULL) {
        svc->reason.data = v[3]->str.data;
        svc->reason.len = v[3]->str.len;
    }

    if (ngx_http_kefu_owner_key(r, ctx, "fb", &svc->session_id,
                                &svc->mark_key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kefu_svc_load(r, ctx, svc);
}


/* the session and the earlier state, pipelined */

static ngx_int_t
ngx_http_kefu_svc_load(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_svc_t *svc)
{
    u_char                     *suffix;
    ngx_int_t                   rc;
    ngx_str_t                  *a;
    ngx_http_kefu_redis_cmd_t  *cmds;

    suffix = ngx_pnalloc(r->pool, sizeof("s:") + svc->session_id.len);
    a = ngx_pcalloc(r->pool, 5 * sizeof(ngx_str_t));
    cmds = ngx_palloc(r->pool, 2 * sizeof(ngx_http_kefu_redis_cmd_t));
    if (suffix == NULL || a == NULL || cmds == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the session key holds the verified user: only one's own session */
    (void) ngx_sprintf(suffix, "s:%V%Z", &svc->session_id);

    if (ngx_http_kefu_user_key(r, ctx, (char *) suffix, &svc->session_key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&a[0], "GET");
    a[1] = svc->session_key;
    cmds[0].argc = 2;
    cmds[0].argv = &a[0];

    if (svc->handoff) {
        ngx_str_set(&a[2], "GET");
        a[3] = svc->mark_key;
        cmds[1].argc = 2;

    } else {
        ngx_str_set(&a[2], "HGET");
        a[3] = svc->mark_key;

        if (ngx_http_kefu_num(r, svc->turn, &a[4]) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cmds[1].argc = 3;
    }

    cmds[1].argv = &a[2];

    rc = ngx_http_kefu_redis_send(r, cmds, 2, ngx_http_kefu_svc_loaded, svc);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_svc_loaded(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    ngx_http_kefu_ctx_t          *ctx;
    ngx_http_kefu_svc_t          *svc = data;
    ngx_http_kefu_redis_reply_t  *sess, *prev;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n, 2,
                                     "reading a session",
                                     &svc->session_key);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    sess = replies[0];
    prev = replies[1];

    if ((sess->type != REDIS_REPLY_STRING && sess->type != REDIS_REPLY_NIL)
        || (prev->type != REDIS_REPLY_STRING && prev->type != REDIS_REPLY_NIL))
    {
        ngx_http_finalize_request(r,
            ngx_http_kefu_redis_unexpected(r,
                sess->type != REDIS_REPLY_STRING
                && sess->type != REDIS_REPLY_NIL ? sess : prev,
                "reading a session", &svc->session_key));
        return;
    }

    if (sess->type == REDIS_REPLY_NIL
        || kefu_session_decode(&ctx->alloc, sess->str.data, sess->str.len,
                               &svc->sess)
           != KEFU_OK
        || svc->sess.turn < 1)
    {
        ngx_http_finalize_request(r,
            ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                     "no such session (or it expired)"));
        return;
    }

    if (prev->type == REDIS_REPLY_STRING) {
        svc->prev = prev->str;
    }

    if (svc->handoff) {
        rc = ngx_http_kefu_handoff_write(r, ctx, svc);

    } else {
        rc = ngx_http_kefu_feedback_write(r, ctx, svc);
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static ngx_int_t
ngx_http_kefu_handoff_write(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_svc_t *svc)
{
    u_char                      day[16];
    ngx_int_t                   rc;
    ngx_str_t                  *a, id, earlier;
    ngx_uint_t                  b;
    kefu_buf_t                  turns;
    kefu_prio_e                 prio;
    const char                 *name;
    ngx_http_kefu_main_conf_t  *kmcf;

    prio = kefu_handoff_priority(ctx->tenant->kb, &svc->sess,
                                 svc->reason.data, svc->reason.len);
    name = kefu_prio_name(prio);

    kefu_buf_init(&turns, &ctx->alloc, 512);
    kefu_handoff_turns_json(&svc->sess, KEFU_SESSION_MAX_TURNS, &turns);

    a = ngx_pcalloc(r->pool, 23 * sizeof(ngx_str_t));
    if (a == NULL || turns.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_http_kefu_bucket(&ctx->user);

    if (ngx_http_kefu_bucket_id(r, b, &id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_kefu_day(ngx_time(), day);

    a[0] = svc->mark_key;

    if (ngx_http_kefu_bucket_key(r, ctx, b, "agents:q", &a[1]) != NGX_OK
        || ngx_http_kefu_bucket_key(r, ctx, b, "agents:seq", &a[2]) != NGX_OK
        || ngx_http_kefu_ticket_key(r, ctx, &id, &a[3]) != NGX_OK
        || ngx_http_kefu_bucket_key(r, ctx, b, "agents", &a[4]) != NGX_OK
        || ngx_http_kefu_bucket_day_key(r, ctx, b, day + 2, &a[5]) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a marker that is not a ticket id of this bucket (all keys of the
     * script share its slot) counts as no earlier ticket */
    earlier = svc->prev;
    rc = earlier.len && ngx_http_kefu_id_bucket(&earlier) == (ngx_int_t) b
         ? ngx_http_kefu_ticket_key(r, ctx, &earlier, &a[6])
         : NGX_DECLINED;

    if (rc == NGX_DECLINED) {
        earlier.len = 0;
        a[6] = a[3];

    } else if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[7] = id;

    if (ngx_http_kefu_num(r, prio, &a[8]) != NGX_OK
        || ngx_http_kefu_num(r, ngx_time(), &a[13]) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[9] = ctx->user;
    a[10] = svc->session_id;
    a[11] = svc->reason;
    a[12].data = turns.data;
    a[12].len = turns.len;
    a[14].data = (u_char *) name;
    a[14].len = ngx_strlen(name);
    ngx_str_set(&a[15], NGX_HTTP_KEFU_DAY_TTL);
    ngx_str_set(&a[16], NGX_HTTP_KEFU_TICKET_TTL);
    a[17] = svc->prev;
    a[18] = earlier;

    /* KEYS[8], the user's waiting tickets, goes before the ARGV */
    ngx_memmove(&a[8], &a[7], 12 * sizeof(ngx_str_t));

    if (ngx_http_kefu_owner_key(r, ctx, "agents:u", NULL, &a[7]) != NGX_OK
        || ngx_http_kefu_num(r, ctx->tenant->stream_max, &a[20]) != NGX_OK
        || ngx_http_kefu_num(r, ctx->tenant->handoff_per_user, &a[21])
           != NGX_OK
        || ngx_http_kefu_num(r, ngx_http_kefu_arrival(b), &a[22]) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_eval(r, kmcf->service_scripts[0], 8, 23, a,
                                  ngx_http_kefu_handoff_done, svc);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_handoff_done(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    ngx_str_t                    *what;
    ngx_http_kefu_ctx_t          *ctx;
    ngx_http_kefu_svc_t          *svc = data;
    ngx_http_kefu_redis_reply_t  *rep;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n, 1,
                                     "script handoff", &svc->mark_key);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    rep = replies[0];

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1
        || rep->element[0]->type != REDIS_REPLY_STRING)
    {
        ngx_http_finalize_request(r,
            ngx_http_kefu_redis_unexpected(r, rep, "script handoff",
                                           &svc->mark_key));
        return;
    }

    what = &rep->element[0]->str;

    if (what->len == 5 && ngx_strncmp(what->data, "stale", 5) == 0) {
        ngx_http_finalize_request(r, ngx_http_kefu_stale(r));
        return;
    }

    if (what->len == 5 && ngx_strncmp(what->data, "limit", 5) == 0) {
        ngx_http_finalize_request(r,
            ngx_http_kefu_send_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                     "too_many_tickets",
                                     "this user already has as many tickets "
                                     "waiting as a user may have"));
        return;
    }

    if (rep->elements != 4 || rep->element[1]->type != REDIS_REPLY_STRING
        || rep->element[2]->type != REDIS_REPLY_INTEGER
        || rep->element[3]->type != REDIS_REPLY_INTEGER
        || rep->element[3]->integer < KEFU_PRIO_URGENT
        || rep->element[3]->integer > KEFU_PRIO_NORMAL)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kefu: unexpected handoff script reply");
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    svc->created = what->len == 7
                   && ngx_strncmp(what->data, "created", 7) == 0;
    svc->ticket = rep->element[1]->str;
    svc->level = rep->element[3]->integer;

    /* its place: the tickets before it in every bucket's queue */
    rc = ngx_http_kefu_queue_place(r, ctx, rep->element[2]->integer,
                                   ngx_http_kefu_handoff_placed, svc);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static void
ngx_http_kefu_handoff_placed(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    int64_t               ahead;
    kefu_buf_t            b;
    ngx_http_kefu_ctx_t  *ctx;
    ngx_http_kefu_svc_t  *svc = data;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    /* the ticket is made: without its place, 503 and the retry finds it */
    if (rc != NGX_OK || ngx_http_kefu_queue_sum(replies, n, &ahead) != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_http_kefu_unavailable(r));
        return;
    }

    kefu_buf_init(&b, &ctx->alloc, 256);
    kefu_buf_adds(&b, "{\"ticket_id\":");
    kefu_buf_add_json_str(&b, svc->ticket.data, svc->ticket.len);
    kefu_buf_addf(&b, ",\"position\":%lld,\"priority\":\"%s\","
                  "\"status\":\"waiting\",\"existing\":%s,\"session_id\":",
                  (long long) ahead + 1,
                  kefu_prio_name((kefu_prio_e) svc->level),
                  svc->created ? "false" : "true");
    kefu_buf_add_json_str(&b, svc->session_id.data, svc->session_id.len);
    kefu_buf_adds(&b, "}\n");

    ngx_http_finalize_request(r,
        ngx_http_kefu_send_json(r, svc->created ? NGX_HTTP_CREATED
                                                : NGX_HTTP_OK,
                                &b));
}


static ngx_int_t
ngx_http_kefu_feedback_write(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_svc_t *svc)
{
    u_char                     *norm, *hash;
    u_char                      uq[sizeof("uq:YYYYMMDD")];
    long                        nlen;
    ngx_int_t                   rc;
    ngx_str_t                  *a;
    ngx_uint_t                  b;
    const kefu_turn_t          *turn;
    ngx_http_kefu_main_conf_t  *kmcf;

    if (svc->turn > svc->sess.turn) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_NOT_FOUND, "not_found",
                                        "no such turn in this session");
    }

    a = ngx_pcalloc(r->pool, 20 * sizeof(ngx_str_t));
    hash = ngx_pnalloc(r->pool, 16);
    if (a == NULL || hash == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the question as /v1/ask counts it among the unanswered; a turn the
     * session no longer keeps is counted without its text */
    turn = kefu_session_turn(&svc->sess, svc->turn);

    if (turn != NULL && turn->q.len) {
        norm = ngx_pnalloc(r->pool, turn->q.len + 1);
        if (norm == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        nlen = kefu_text_normalize(turn->q.data, turn->q.len, norm);

        if (nlen > 0) {
            svc->question.data = norm;
            svc->question.len = ngx_min((size_t) nlen, NGX_HTTP_KEFU_Q_MAX);
        }

        a[13].data = turn->faq.data;
        a[13].len = turn->faq.len;
    }

    ngx_http_kefu_day(ngx_time(), svc->today);

    /* an earlier verdict is "1:YYYYMMDD" or "0:YYYYMMDD" */
    if (svc->prev.len == 10 && svc->prev.data[1] == ':'
        && ngx_atoi(svc->prev.data + 2, 8) != NGX_ERROR)
    {
        (void) ngx_sprintf(svc->prev_day, "d:%*s%Z", (size_t) 8,
                           svc->prev.data + 2);

    } else {
        svc->prev.len = 0;
        ngx_memcpy(svc->prev_day, svc->today, sizeof(svc->today));
    }

    b = ngx_http_kefu_bucket(&ctx->user);
    (void) ngx_sprintf(uq, "uq:%*s%Z", (size_t) 8, svc->today + 2);

    /* KEYS */
    a[0] = svc->mark_key;

    if (ngx_http_kefu_bucket_day_key(r, ctx, b, svc->today + 2, &a[1])
           != NGX_OK
        || ngx_http_kefu_bucket_day_key(r, ctx, b, svc->prev_day + 2, &a[2])
           != NGX_OK
        || ngx_http_kefu_bucket_key(r, ctx, b, "feedback", &a[3]) != NGX_OK
        || ngx_http_kefu_owner_key(r, ctx, (char *) uq, NULL, &a[4])
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* ARGV */
    if (ngx_http_kefu_num(r, svc->turn, &a[5]) != NGX_OK
        || ngx_http_kefu_num(r, ngx_time(), &a[15]) != NGX_OK
        || ngx_http_kefu_num(r, ctx->tenant->stream_max, &a[16]) != NGX_OK
        || ngx_http_kefu_num(r, ctx->tenant->unanswered_per_user, &a[18])
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[6] = svc->prev;

    if (svc->helpful) {
        ngx_str_set(&a[7], "1");

    } else {
        ngx_str_set(&a[7], "0");
    }

    a[8].data = svc->today + 2;
    a[8].len = 8;
    a[9] = svc->question;
    ngx_str_set(&a[10], NGX_HTTP_KEFU_DAY_TTL);
    a[11] = ctx->user;
    a[12] = svc->session_id;
    a[14] = svc->reason;

    if (svc->question.len) {
        ngx_http_kefu_question_hash(&svc->question, hash);
        a[17].data = hash;
        a[17].len = 16;
    }

    ngx_str_set(&a[19], NGX_HTTP_KEFU_UQ_TTL);

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_eval(r, kmcf->service_scripts[1], 5, 20, a,
                                  ngx_http_kefu_feedback_done, svc);
    return ngx_http_kefu_redis_started(r, rc);
}


static void
ngx_http_kefu_feedback_done(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    ngx_str_t                    *what;
    ngx_http_kefu_ctx_t          *ctx;
    ngx_http_kefu_svc_t          *svc;
    ngx_http_kefu_redis_reply_t  *rep;

    svc = data;
    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    rc = ngx_http_kefu_redis_outcome(r, rc, replies, n, 1,
                                     "script feedback", &svc->mark_key);
    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    rep = replies[0];

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1
        || rep->element[0]->type != REDIS_REPLY_STRING)
    {
        ngx_http_finalize_request(r,
            ngx_http_kefu_redis_unexpected(r, rep, "script feedback",
                                           &svc->mark_key));
        return;
    }

    what = &rep->element[0]->str;

    if (what->len == 5 && ngx_strncmp(what->data, "stale", 5) == 0) {
        ngx_http_finalize_request(r, ngx_http_kefu_stale(r));
        return;
    }

    /* {'ok', added, taken back}: the day's unanswered questions are the
     * tenant's, summed per worker like /v1/ask's (they feed statistics
     * and KB suggestions, which read one set per day) */
    if (rep->elements == 3
        && rep->element[1]->type == REDIS_REPLY_INTEGER
        && rep->element[2]->type == REDIS_REPLY_INTEGER)
    {
        if ((rep->element[1]->integer
             && ngx_http_kefu_feedback_tally(r, ctx, svc->today, 1)
                != NGX_OK)
            || (rep->element[2]->integer
                && ngx_http_kefu_feedback_tally(r, ctx, svc->prev_day, -1)
                   != NGX_OK))
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    ngx_http_finalize_request(r, ngx_http_kefu_send_no_content(r));
}


static ngx_int_t
ngx_http_kefu_feedback_tally(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    u_char *day, double incr)
{
    ngx_str_t             key;
    ngx_http_kefu_svc_t  *svc = ctx->data;

    if (ngx_http_kefu_day_key(r, ctx, day + 2, ":u", &key) != NGX_OK) {
        return NGX_ERROR;
    }

    (void) ngx_http_kefu_tally_add(ctx->tenant, NGX_HTTP_KEFU_TALLY_RANK,
                                   &key, &svc->question, incr,
                                   NGX_HTTP_KEFU_STATS_TTL);

    return NGX_OK;
}


/*
 * A ticket's arrival, the low part of its queue score: milliseconds since
 * 2026-01-01 (2^40 of them reach 2060) times 1024, plus 64 x the bucket;
 * the script adds its bucket's sequence modulo 64.  So the queues of all
 * buckets share one order, first come first served to the millisecond of
 * the nginx clocks, and no two tickets share a score.
 */

static int64_t
ngx_http_kefu_arrival(ngx_uint_t bucket)
{
    int64_t      ms;
    ngx_time_t  *tp;

    tp = ngx_timeofday();
    ms = ((int64_t) tp->sec - NGX_HTTP_KEFU_QUEUE_EPOCH) * 1000 + tp->msec;

    if (ms < 0) {
        ms = 0;
    }

    return ms * 1024 + (int64_t) bucket * 64;
}


static ngx_int_t
ngx_http_kefu_stale(ngx_http_request_t *r)
{
    return ngx_http_kefu_send_error(r, NGX_HTTP_CONFLICT, "conflict",
                                    "a concurrent request for this session "
                                    "won; retry");
}
