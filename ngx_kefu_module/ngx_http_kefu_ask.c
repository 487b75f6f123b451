/*
 * ngx_kefu: POST /v1/ask.
 *
 * A turn is one write (the session and the user's asked set), a
 * compare-and-set against the session as this worker last saw it
 * (ngx_http_kefu_sessions.c).  A session the worker has no copy of is
 * read first; one that changed meanwhile (another worker's turn, an
 * expiry) comes back with the refusal and the turn is done again on it,
 * so concurrent turns of one session are never lost.  The tenant's
 * counters are summed per worker (ngx_http_kefu_tally.c).  The reply is
 * sent after Redis confirmed the write, so that the next turn, on any
 * worker, sees this one.  Without Redis the question is still answered,
 * single-turn, with "session": "unavailable".
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "ngx_http_kefu_metrics.h"
#include "ngx_http_kefu_scripts.h"
#include "ngx_http_kefu_sessions.h"
#include "ngx_http_kefu_suggest.h"
#include "ngx_http_kefu_tally.h"
#include "kefu_dialog.h"
#include "kefu_validate.h"
#include "kefu_tap.h"


#define NGX_HTTP_KEFU_ASK_MAX_CHARS  500
#define NGX_HTTP_KEFU_ASK_ATTEMPTS   4      /* writes refused in a row */
#define NGX_HTTP_KEFU_UQ_TTL         "172800"   /* a user's day, and one */
#define NGX_HTTP_KEFU_LP_MAX         "200"      /* pairs one user counts */
#define NGX_HTTP_KEFU_LP_TTL         "7776000"  /* 90 days, as the stats */


typedef struct {
    ngx_str_t               session_id;
    ngx_str_t               session_key;
    ngx_str_t               scene;
    kefu_ask_in_t           in;
    kefu_ask_out_t          out;
    kefu_session_t          sess;
    ngx_str_t               seen;       /* the stored session, "" if none */
    ngx_str_t               value;      /* the session written */
    ngx_uint_t              attempts;
    ngx_str_t               uq;         /* normalised unanswered question */
    u_char                  uq_hash[16];
    ngx_str_t               lp;         /* tapped pair "faq\tquestion" */
    u_char                  lp_hash[16];
    unsigned                uq_counted:1;
    unsigned                lp_counted:1;
    unsigned                new_session:1;
    unsigned                unavailable:1;
} ngx_http_kefu_ask_t;


static const kefu_field_t  ngx_http_kefu_ask_fields[] = {
    { "question", KEFU_F_STRING, 0, 1, NGX_HTTP_KEFU_ASK_MAX_CHARS },
    { "session_id", KEFU_F_IDENT, 0, 1, 64 },
    { "scene", KEFU_F_IDENT, 0, 1, 32 },
    { "faq_id", KEFU_F_IDENT, 0, 1, KEFU_KB_MAX_ID },
    { "choice", KEFU_F_IDENT, 0, 1, KEFU_KB_MAX_ID },
    { NULL, 0, 0, 0, 0 }
};


static ngx_int_t ngx_http_kefu_ask(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);
static ngx_int_t ngx_http_kefu_ask_count(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_ask_t *ask);
static void ngx_http_kefu_ask_loaded(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static ngx_int_t ngx_http_kefu_ask_turn(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_ask_t *ask);
static void ngx_http_kefu_ask_saved(ngx_http_request_t *r, void *data,
    ngx_int_t rc, ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n);
static void ngx_http_kefu_ask_resume(ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_ask_t *ask);
static ngx_int_t ngx_http_kefu_ask_reply(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_ask_t *ask);
static ngx_int_t ngx_http_kefu_has_text(u_char *p, size_t len);


/* kmcf->ask_scripts[] */
static const ngx_http_kefu_lua_t  *const ngx_http_kefu_ask_scripts[] = {
    &ngx_http_kefu_script_ask_turn,
    NULL
};


static ngx_http_kefu_route_t  ngx_http_kefu_ask_routes[] = {
    { ngx_string("ask"), NGX_HTTP_POST, ngx_http_kefu_ask, 1, 0, 0 },
    { ngx_null_string, 0, NULL, 0, 0, 0 }
};


const ngx_http_kefu_endpoint_t  ngx_http_kefu_ask_endpoint = {
    ngx_http_kefu_ask_routes,
    ngx_http_kefu_ask_scripts,
    offsetof(ngx_http_kefu_main_conf_t, ask_scripts),
    NULL, NULL, NULL
};


static ngx_int_t
ngx_http_kefu_ask(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    char                  err[128];
    ngx_int_t             rc;
    ngx_str_t            *argv;
    const kefu_json_t    *v[5];
    ngx_http_kefu_ask_t  *ask;
    u_char                      *suffix;
    ngx_http_kefu_redis_cmd_t    cmd;

    if (kefu_validate(ctx->body, ngx_http_kefu_ask_fields, v, err,
                      sizeof(err))
        != KEFU_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request", err);
    }

    ask = ngx_pcalloc(r->pool, sizeof(ngx_http_kefu_ask_t));
    if (ask == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = ask;

    if (v[0] == NULL && v[3] == NULL && v[4] == NULL) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "one of \"question\", \"faq_id\" or "
                                        "\"choice\" is required");
    }

    if (v[0] != NULL) {
        ask->in.question = v[0]->str.data;
        ask->in.qlen = v[0]->str.len;

        if (!ngx_http_kefu_has_text(v[0]->str.data, v[0]->str.len)) {
            return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request",
                                            "question is empty");
        }
    }

    if (v[3] != NULL) {
        ask->in.faq_id = v[3]->str.data;
        ask->in.faq_id_len = v[3]->str.len;
    }

    if (v[4] != NULL) {
        ask->in.choice = v[4]->str.data;
        ask->in.choice_len = v[4]->str.len;
    }

    if (v[2] != NULL) {
        ask->scene.data = v[2]->str.data;
        ask->scene.len = v[2]->str.len;
    }

    ask->in.high = ctx->tenant->answer_threshold;
    ask->in.low = ctx->tenant->clarify_threshold;
    ask->in.max_turns = ctx->tenant->session_turns;
    ask->in.now = ngx_time();

    kefu_session_init(&ask->sess);

    if (v[1] != NULL) {
        ask->session_id.data = v[1]->str.data;
        ask->session_id.len = v[1]->str.len;

    } else {
        if (ngx_http_kefu_random_id(r, 12, &ask->session_id) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ask->new_session = 1;
    }

    /* the session key holds the verified user: never another's session */
    suffix = ngx_pnalloc(r->pool, sizeof("s:") + ask->session_id.len);
    argv = ngx_palloc(r->pool, sizeof(ngx_str_t) * 2);
    if (suffix == NULL || argv == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_sprintf(suffix, "s:%V%Z", &ask->session_id);

    if (ngx_http_kefu_user_key(r, ctx, (char *) suffix, &ask->session_key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&ask->seen, "");

    if (ask->new_session) {
        return ngx_http_kefu_ask_turn(r, ctx, ask);
    }

    rc = ngx_http_kefu_sessions_get(r->pool, &ask->session_key, &ask->seen);

    if (rc == NGX_OK) {
        ngx_http_kefu_worker_stats()->session_copies++;
        ngx_http_kefu_ask_resume(ctx, ask);
        return ngx_http_kefu_ask_turn(r, ctx, ask);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&argv[0], "GET");
    argv[1] = ask->session_key;
    cmd.argc = 2;
    cmd.argv = argv;

    rc = ngx_http_kefu_redis_send(r, &cmd, 1, ngx_http_kefu_ask_loaded, ask);

    if (rc == NGX_OK) {
        return NGX_DONE;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* NGX_DECLINED: Redis is down; answer without context */
    ask->unavailable = 1;

    return ngx_http_kefu_ask_turn(r, ctx, ask);
}


static void
ngx_http_kefu_ask_loaded(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    ngx_http_kefu_ctx_t          *ctx;
    ngx_http_kefu_ask_t          *ask = data;
    ngx_http_kefu_redis_reply_t  *rep;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);

    if (rc != NGX_OK || n != 1) {
        ask->unavailable = 1;

    } else {
        rep = replies[0];

        if (rep->type == REDIS_REPLY_STRING) {
            ask->seen = rep->str;
            ngx_http_kefu_ask_resume(ctx, ask);

        } else if (rep->type != REDIS_REPLY_NIL) {
            ngx_http_kefu_redis_log_reply(r, rep, "reading a session",
                                          &ask->session_key);
            ask->unavailable = 1;
        }
    }

    rc = ngx_http_kefu_ask_turn(r, ctx, ask);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static ngx_int_t
ngx_http_kefu_ask_turn(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_ask_t *ask)
{
    u_char                     *p;
    long                        nlen;
    ngx_int_t                   rc;
    long                        tap;
    ngx_str_t                   a[12], ka[16];
    kefu_str_t                  tq;
    kefu_buf_t                  sb;
    u_char                      day[16], uq[sizeof("uq:YYYYMMDD")];
    ngx_http_kefu_tenant_t     *t;
    ngx_http_kefu_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);
    t = ctx->tenant;
    ask->in.memo = kmcf->memo;

    /* implicit feedback: a tap on what the previous turn offered */
    ngx_str_null(&ask->lp);

    p = ngx_pnalloc(r->pool, KEFU_SESSION_MAX_Q + KEFU_KB_MAX_ID + 2);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (kefu_tap_pair(t->kb, &ask->sess, &ask->in, &tap,
                       p + KEFU_KB_MAX_ID + 1, &tq))
    {
        ask->lp.data = p;
        ask->lp.len = ngx_sprintf(p, "%*s\t", t->kb->faqs[tap].id.len,
                                  t->kb->faqs[tap].id.data) - p;
        ngx_memmove(p + ask->lp.len, tq.data, tq.len);
        ask->lp.len += tq.len;

        ngx_http_kefu_question_hash(&ask->lp, ask->lp_hash);
    }

    if (kefu_dialog_ask(t->kb, kmcf->scratch, &ask->sess, &ask->in,
                        &ask->out)
        != KEFU_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request", ask->out.error);
    }

    /* what the robot could not answer, normalised so that variants of
     * one question add up; counted once per user and day (KEYS[3]) */
    ngx_str_null(&ask->uq);

    if ((ask->out.type == KEFU_REPLY_FALLBACK
         || ask->out.type == KEFU_REPLY_CLARIFY)
        && ask->in.question != NULL)
    {
        p = ngx_pnalloc(r->pool, ask->in.qlen + 1);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        nlen = kefu_text_normalize(ask->in.question, ask->in.qlen, p);

        if (nlen > 0) {
            ask->uq.data = p;
            ask->uq.len = ngx_min((size_t) nlen, 200);

            ngx_http_kefu_question_hash(&ask->uq, ask->uq_hash);
        }
    }

    if (ask->unavailable) {
        return ngx_http_kefu_ask_reply(r, ctx, ask);
    }

    kefu_buf_init(&sb, &ctx->alloc, 512);
    kefu_session_encode(&ask->sess, &sb);

    p = ngx_pnalloc(r->pool, 4 * NGX_TIME_T_LEN);
    if (sb.failed || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ask->value.data = sb.data;
    ask->value.len = sb.len;

    /* KEYS: session, asked set, today's unanswered questions */
    a[0] = ask->session_key;
    ngx_http_kefu_day(ask->in.now, day);
    (void) ngx_sprintf(uq, "uq:%s%Z", day + 2);

    if (ngx_http_kefu_user_key(r, ctx, "asked", &a[1]) != NGX_OK
        || ngx_http_kefu_user_key(r, ctx, (char *) uq, &a[2]) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    a[3] = ask->seen;
    a[4] = ask->value;
    a[5].data = p;
    a[5].len = ngx_sprintf(p, "%T", t->session_ttl) - p;
    p += a[5].len;
    ngx_str_null(&a[6]);

    if (ask->out.type == KEFU_REPLY_ANSWER && ask->out.faq >= 0) {
        a[6].data = t->kb->faqs[ask->out.faq].id.data;
        a[6].len = t->kb->faqs[ask->out.faq].id.len;
    }

    a[7].data = p;
    a[7].len = ngx_sprintf(p, "%T", ask->in.now) - p;
    p += a[7].len;
    a[8].data = p;
    a[8].len = ngx_sprintf(p, "%T", t->suggest_asked_window) - p;
    p += a[8].len;
    a[10].data = p;
    a[10].len = ngx_sprintf(p, "%ui", t->unanswered_per_user) - p;

    ngx_str_null(&a[9]);

    if (ask->uq.len) {
        a[9].data = ask->uq_hash;
        a[9].len = sizeof(ask->uq_hash);
    }

    ngx_str_set(&a[11], NGX_HTTP_KEFU_UQ_TTL);

    /* KEYS[4] and ARGV[10..12]: the tapped pair (kefu_tap.h) */
    ka[0] = a[0];
    ka[1] = a[1];
    ka[2] = a[2];

    if (ngx_http_kefu_user_key(r, ctx, "lp", &ka[3]) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(&ka[4], &a[3], 9 * sizeof(ngx_str_t));
    ngx_str_null(&ka[13]);

    if (ask->lp.len) {
        ka[13].data = ask->lp_hash;
        ka[13].len = sizeof(ask->lp_hash);
    }

    ngx_str_set(&ka[14], NGX_HTTP_KEFU_LP_MAX);
    ngx_str_set(&ka[15], NGX_HTTP_KEFU_LP_TTL);

    rc = ngx_http_kefu_redis_eval(r, kmcf->ask_scripts[0], 4, 16, ka,
                                  ngx_http_kefu_ask_saved, ask);

    if (rc == NGX_OK) {
        return NGX_DONE;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ask->unavailable = 1;

    return ngx_http_kefu_ask_reply(r, ctx, ask);
}


/*
 * The tenant's counters of the turn: the day's hash (asked and the
 * reply's type), its answered FAQs or unanswered questions, and the hot
 * questions of 猜你关心.  NGX_ERROR only for want of memory: full sums
 * lose the turn's counts, not the turn.
 */
static ngx_int_t
ngx_http_kefu_ask_count(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_ask_t *ask)
{
    double                   incr;
    time_t                   ttl;
    ngx_str_t                day_key, key, member, field;
    kefu_faq_t              *faq;
    ngx_http_kefu_tenant_t  *t;
    u_char                   day[16];

    static ngx_str_t         asked = ngx_string("asked");
    static ngx_str_t         fields[] = {
        ngx_string("answered"), ngx_string("clarified"),
        ngx_string("fallback"), ngx_string("handoff")
    };

    t = ctx->tenant;

    /* kefu:{t}:d:YYYYMMDD is the day's hash of counters */
    ngx_http_kefu_day(ask->in.now, day);

    if (ngx_http_kefu_day_key(r, ctx, day + 2, "", &day_key) != NGX_OK) {
        return NGX_ERROR;
    }

    field = fields[ask->out.type];

    (void) ngx_http_kefu_tally_add(t, NGX_HTTP_KEFU_TALLY_COUNT, &day_key,
                                   &asked, 1, NGX_HTTP_KEFU_STATS_TTL);
    (void) ngx_http_kefu_tally_add(t, NGX_HTTP_KEFU_TALLY_COUNT, &day_key,
                                   &field, 1, NGX_HTTP_KEFU_STATS_TTL);

    ngx_str_null(&member);

    if (ask->out.type == KEFU_REPLY_ANSWER && ask->out.faq >= 0) {
        /* per-FAQ hits of the day (the trainer's "top questions") and
         * the hot questions of 猜你关心 */
        faq = &t->kb->faqs[ask->out.faq];
        member.data = faq->id.data;
        member.len = faq->id.len;

        if (ngx_http_kefu_suggest_hot_incr(r, ctx, ask->in.now, &key, &incr,
                                           &ttl)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        (void) ngx_http_kefu_tally_add(t, NGX_HTTP_KEFU_TALLY_HOT, &key,
                                       &member, incr, ttl);

    } else if (ask->uq_counted) {
        /* the user's first time today with this question (the turn's
         * script said so): one more for the trainer's list */
        member = ask->uq;
    }

    if (ask->lp_counted) {
        /* the user's first tap of this pair: one more user for it */
        if (ngx_http_kefu_day_key(r, ctx, day + 2, ":p", &key) != NGX_OK) {
            return NGX_ERROR;
        }

        (void) ngx_http_kefu_tally_add(t, NGX_HTTP_KEFU_TALLY_RANK, &key,
                                       &ask->lp, 1, NGX_HTTP_KEFU_STATS_TTL);
    }

    if (member.len == 0) {
        return NGX_OK;
    }

    if (ngx_http_kefu_day_key(r, ctx, day + 2,
                              ask->out.type == KEFU_REPLY_ANSWER ? ":q"
                              : ask->out.type == KEFU_REPLY_CLARIFY ? ":c"
                                                                    : ":u",
                              &key)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    (void) ngx_http_kefu_tally_add(t, NGX_HTTP_KEFU_TALLY_RANK, &key, &member,
                                   1, NGX_HTTP_KEFU_STATS_TTL);

    return NGX_OK;
}


static void
ngx_http_kefu_ask_saved(ngx_http_request_t *r, void *data, ngx_int_t rc,
    ngx_http_kefu_redis_reply_t **replies, ngx_uint_t n)
{
    ngx_http_kefu_ctx_t          *ctx;
    ngx_http_kefu_ask_t          *ask = data;
    ngx_http_kefu_redis_reply_t  *rep;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kefu_module);
    rep = (rc == NGX_OK && n == 1) ? replies[0] : NULL;

    if (rep != NULL && rep->type == REDIS_REPLY_INTEGER) {
        ngx_http_kefu_sessions_put(&ask->session_key, &ask->value);
        ask->uq_counted = ((rep->integer & 3) == 1 && ask->uq.len);
        ask->lp_counted = ((rep->integer & 4) && ask->lp.len);

    } else if (rep != NULL && rep->type == REDIS_REPLY_STRING
               && ++ask->attempts < NGX_HTTP_KEFU_ASK_ATTEMPTS)
    {
        /* the session moved on: this turn again, after what is stored */
        ngx_http_kefu_worker_stats()->session_refused++;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "kefu ask: session changed, attempt %ui",
                       ask->attempts + 1);

        ask->seen = rep->str;
        ngx_http_kefu_ask_resume(ctx, ask);

        rc = ngx_http_kefu_ask_turn(r, ctx, ask);

        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }

        return;

    } else {
        /* not written (Redis failed, or the session kept changing) */
        if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
            ngx_http_kefu_redis_log_reply(r, rep, "script ask_turn",
                                          &ask->session_key);
        }

        ngx_http_kefu_sessions_drop(&ask->session_key);
        ask->unavailable = 1;
    }

    ngx_http_finalize_request(r, ngx_http_kefu_ask_reply(r, ctx, ask));
}


/* The turn starts again from ask->seen, the session as stored. */

static void
ngx_http_kefu_ask_resume(ngx_http_kefu_ctx_t *ctx, ngx_http_kefu_ask_t *ask)
{
    kefu_session_init(&ask->sess);

    /* a damaged value costs the context, not the answer */
    if (ask->seen.len) {
        (void) kefu_session_decode(&ctx->alloc, ask->seen.data,
                                   ask->seen.len, &ask->sess);
    }
}


static void
ngx_http_kefu_faq_ref(kefu_buf_t *b, const kefu_kb_t *kb, uint32_t faq)
{
    kefu_buf_adds(b, "{\"faq_id\":");
    kefu_buf_add_json_str(b, kb->faqs[faq].id.data, kb->faqs[faq].id.len);
    kefu_buf_adds(b, ",\"question\":");
    kefu_buf_add_json_str(b, kb->faqs[faq].question.data,
                          kb->faqs[faq].question.len);
}


static ngx_int_t
ngx_http_kefu_ask_reply(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx,
    ngx_http_kefu_ask_t *ask)
{
    size_t             i;
    kefu_buf_t         b;
    const kefu_kb_t   *kb;
    kefu_ask_out_t    *out;
    const kefu_faq_t  *faq;

    static const char  *types[] = { "answer", "clarify", "fallback",
                                    "handoff" };
    static const char  *emotions[] = { "calm", "anxious", "angry" };

    kb = ctx->tenant->kb;
    out = &ask->out;

    /* counted even while Redis is down: the sums wait for it */
    if (ngx_http_kefu_ask_count(r, ctx, ask) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* metrics and $kefu_reply, $kefu_faq_id, $kefu_confidence */
    ngx_http_kefu_metrics_ask(r, ctx, out->type,
                              out->faq >= 0 ? kb->faqs[out->faq].id.data
                                            : NULL,
                              out->faq >= 0 ? kb->faqs[out->faq].id.len : 0,
                              out->confidence);

    kefu_buf_init(&b, &ctx->alloc, 1024);

    kefu_buf_adds(&b, "{\"session_id\":");
    kefu_buf_add_json_str(&b, ask->session_id.data, ask->session_id.len);
    kefu_buf_addf(&b, ",\"turn\":%lld,\"type\":\"%s\",\"session\":\"%s\"",
                  (long long) ask->sess.turn, types[out->type],
                  ask->unavailable ? "unavailable"
                  : (ask->new_session || ask->sess.turn == 1) ? "new"
                  : "continued");

    if (out->faq >= 0) {
        faq = &kb->faqs[out->faq];
        kefu_buf_adds(&b, ",\"faq_id\":");
        kefu_buf_add_json_str(&b, faq->id.data, faq->id.len);
        kefu_buf_adds(&b, ",\"question\":");
        kefu_buf_add_json_str(&b, faq->question.data, faq->question.len);
    }

    kefu_buf_adds(&b, ",\"text\":");
    kefu_buf_add_json_str(&b, out->text.data, out->text.len);
    kefu_buf_addf(&b, ",\"confidence\":%.3f,\"emotion\":\"%s\","
                  "\"handoff_suggested\":%s,\"priority\":%s",
                  out->confidence, emotions[out->emotion],
                  out->handoff_suggested ? "true" : "false",
                  out->priority ? "true" : "false");

    kefu_buf_adds(&b, ",\"choices\":[");

    for (i = 0; i < out->nchoices; i++) {
        if (i) {
            kefu_buf_adds(&b, ",");
        }

        ngx_http_kefu_faq_ref(&b, kb, out->choices[i]);
        kefu_buf_addf(&b, ",\"confidence\":%.3f}", out->choice_conf[i]);
    }

    kefu_buf_adds(&b, "],\"related\":[");

    if (out->faq >= 0) {
        faq = &kb->faqs[out->faq];

        for (i = 0; i < faq->nfollow_ups && i < KEFU_DIALOG_MAX_RELATED;
             i++)
        {
            if (i) {
                kefu_buf_adds(&b, ",");
            }

            ngx_http_kefu_faq_ref(&b, kb, faq->follow_ups[i]);
            kefu_buf_adds(&b, "}");
        }
    }

    kefu_buf_adds(&b, "],\"actions\":[");

    ngx_http_kefu_add_actions(&b, out->actions);

    kefu_buf_adds(&b, "]}\n");

    return ngx_http_kefu_send_json(r, NGX_HTTP_OK, &b);
}


/* Anything but whitespace and control characters counts as text. */

static ngx_int_t
ngx_http_kefu_has_text(u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] <= 0x20 || p[i] == 0x7f) {
            continue;
        }

        /* U+3000 ideographic space */
        if (p[i] == 0xe3 && i + 2 < len && p[i + 1] == 0x80
            && p[i + 2] == 0x80)
        {
            i += 2;
            continue;
        }

        return 1;
    }

    return 0;
}
