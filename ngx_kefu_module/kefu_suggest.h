/*
 * ngx_kefu: "猜你关心" -- suggestions before the user types (SPEC §1, §4).
 *
 * The nginx-free part of GET /v1/suggestions and POST /v1/events:
 *
 *   - an inverted map trigger name -> FAQs, built once per KB (at
 *     configuration time) from the FAQs' `triggers`;
 *   - the ranking: the user's trail (event types with weights, decayed by
 *     age), the current scene, the tenant's hot questions, risk patterns
 *     (fraud first), no repeats of recently asked FAQs, diversity across
 *     topics, the KB's welcome questions as the last resort;
 *   - the trail's storage format and the validation of an events batch;
 *   - the arithmetic of the decaying hot counter kept by /v1/ask.
 */

#ifndef KEFU_SUGGEST_H
#define KEFU_SUGGEST_H

#include "kefu_core.h"
#include "kefu_json.h"
#include "kefu_kb.h"


#define KEFU_SUGGEST_MAX_LIMIT      20
#define KEFU_SUGGEST_MAX_TYPES      512     /* distinct event types used */
/* an event type or scene adds to its strongest FAQs only */
#define KEFU_SUGGEST_MAX_POSTINGS   256

#define KEFU_EVENTS_MAX_BATCH       100
#define KEFU_EVENT_MAX_TYPE         40
#define KEFU_EVENT_MAX_ATTRS        8
#define KEFU_EVENT_MAX_ATTR_KEY     32      /* bytes */
#define KEFU_EVENT_MAX_ATTR_STR     64      /* code points */
#define KEFU_EVENT_MAX_SKEW         300     /* seconds into the future */

/* trail summary: event types kept per user, timestamps kept per type */
#define KEFU_SUGGEST_SUM_TYPES      64
#define KEFU_SUGGEST_SUM_TS         4

/* hot counter: one sorted set per generation of this many half-lives */
#define KEFU_HOT_GENERATION         32


typedef enum {
    KEFU_REASON_WELCOME = 0,
    KEFU_REASON_HOT,
    KEFU_REASON_SCENE,
    KEFU_REASON_EVENT,
    KEFU_REASON_RISK
} kefu_reason_e;


typedef struct kefu_suggest_index_s    kefu_suggest_index_t;
typedef struct kefu_suggest_scratch_s  kefu_suggest_scratch_t;


typedef struct {
    kefu_str_t      type;
    int64_t         age;            /* seconds; negative counts as 0 */
} kefu_suggest_event_t;


/*
 * One event type of a user's trail summary, kept up to date by
 * POST /v1/events (the Lua script in ngx_http_kefu_events.c): the number
 * of events, each decayed by 2^(-age / half_life), as of time ref (may be
 * > 1 for a ref in the past), and the type's newest timestamp or, for
 * risk pattern starts, its newest KEFU_SUGGEST_SUM_TS distinct ones.
 */
typedef struct {
    kefu_str_t      type;
    double          count;
    int64_t         ref;
    int64_t         ts[KEFU_SUGGEST_SUM_TS];    /* newest first */
    size_t          nts;                        /* >= 1 */
} kefu_suggest_sum_t;


typedef struct {
    uint32_t        faq;
    double          count;          /* decayed number of answers, > 0 */
} kefu_suggest_hot_t;


typedef struct {
    double          half_life;      /* trail decay, seconds, > 0 */
    double          scene_weight;   /* multiplies scene trigger weights */
    double          hot_weight;     /* the hottest question scores 2x this */
    int64_t         risk_window;    /* seconds, see kefu_suggest() */
    size_t          per_topic;      /* items per topic; 0: no cap */
} kefu_suggest_params_t;


typedef struct {
    const kefu_suggest_event_t  *events;    /* the trail, any order */
    size_t                       nevents;
    const kefu_suggest_sum_t    *sums;      /* or its summary, or both */
    size_t                       nsums;
    int64_t                      now;       /* for the sums' ages */
    kefu_str_t                   scene;     /* len 0: none */
    const kefu_suggest_hot_t    *hot;
    size_t                       nhot;
    const uint32_t              *asked;     /* FAQs asked recently */
    size_t                       nasked;
    size_t                       limit;     /* 1..KEFU_SUGGEST_MAX_LIMIT */
} kefu_suggest_in_t;


typedef struct {
    uint32_t        faq;
    double          score;
    kefu_reason_e   reason;
    kefu_str_t      event;          /* event and risk: the event type;
                                       scene: the scene */
    int64_t         age;            /* event and risk: the newest such
                                       event's age in seconds */
    const char     *signal;         /* risk: the pattern's name */
} kefu_suggestion_t;


typedef struct {
    kefu_suggestion_t   items[KEFU_SUGGEST_MAX_LIMIT];
    size_t              n;
    const char         *risk;       /* strongest risk pattern, or NULL */
    unsigned            actions;    /* KEFU_ACT_* of the risk items */
    unsigned            personalized:1;
} kefu_suggest_out_t;


/* One event of a validated POST /v1/events batch. */
typedef struct {
    kefu_str_t          type;
    int64_t             ts;         /* unix seconds */
    const kefu_json_t  *attrs;      /* flat object or NULL */
} kefu_event_in_t;


/* The trigger map of one KB; read-only after the build. */
kefu_suggest_index_t *kefu_suggest_index_build(kefu_alloc_t *a,
    const kefu_kb_t *kb);
const kefu_kb_t *kefu_suggest_index_kb(const kefu_suggest_index_t *idx);

/* Per-worker mutable state, good for KBs of up to nfaqs FAQs. */
kefu_suggest_scratch_t *kefu_suggest_scratch_create(kefu_alloc_t *a,
    size_t nfaqs);
size_t kefu_suggest_scratch_capacity(const kefu_suggest_scratch_t *s);

/*
 * Ranks suggestions.  Score of a FAQ = sum over the trail's events of
 * trigger weight x 2^(-age / half_life) (events older than 12 half-lives
 * are ignored; with a summary, a type whose newest event is that old),
 * + scene_weight x scene trigger weight, + 2 x hot_weight x count / top
 * count.  An event type or scene triggering more than
 * KEFU_SUGGEST_MAX_POSTINGS FAQs adds only to that many of its strongest
 * (heaviest weight, then KB order): a signal that broad says little, and
 * the cost stays bounded on very large KBs.  Risk patterns found in the
 * trail within risk_window put the KB's risk FAQs triggered by the
 * pattern's events in a first tier, ahead of every other FAQ whatever
 * its score.  Recently
 * asked FAQs are left out; at most per_topic items of one topic are taken
 * while other candidates or welcome questions remain.  Returns KEFU_OK,
 * or KEFU_ERROR if the scratch is too small for the KB.
 */
int kefu_suggest(const kefu_suggest_index_t *idx, kefu_suggest_scratch_t *s,
    const kefu_suggest_params_t *p, const kefu_suggest_in_t *in,
    kefu_suggest_out_t *out);

/* "welcome", "hot", "scene", "event", "risk" */
const char *kefu_suggest_reason_name(kefu_reason_e reason);


/*
 * Events batch {"events": [{type, ts?, attrs?}, ...]}: checks everything
 * (known fields only; 1..KEFU_EVENTS_MAX_BATCH events; type
 * [a-z0-9_.:-]{1,40}; ts integer unix seconds, at most
 * KEFU_EVENT_MAX_SKEW in the future and at most max_age in the past,
 * default now; attrs a flat object of at most KEFU_EVENT_MAX_ATTRS
 * identifier keys with string (<= 64 characters), number or boolean
 * values).  Fills out (KEFU_EVENTS_MAX_BATCH entries) and *n, or writes a
 * message and returns KEFU_ERROR.
 */
int kefu_events_check(const kefu_json_t *body, int64_t now, int64_t max_age,
    kefu_event_in_t *out, size_t *n, char *err, size_t errlen);

/* [a-z0-9_.:-]{1,max} */
int kefu_event_type_valid(const unsigned char *p, size_t len, size_t max);

/*
 * The stored form of one trail event, compact JSON with a fixed key
 * order: {"ts":1717000000,"type":"transfer_failed"[,"attrs":{...}]}.
 */
void kefu_event_encode(kefu_buf_t *b, const kefu_event_in_t *ev);
/* Reads type and ts back (type points into p); KEFU_ERROR if damaged. */
int kefu_event_decode(const unsigned char *p, size_t len, kefu_str_t *type,
    int64_t *ts);

/*
 * One record of the summary list (see ngx_http_kefu_events.c):
 * "R;X c ts[ ts...];Y c ts..." -- R the reference time of the counts c,
 * per event type its count as of R and its newest timestamp or, for the
 * types a risk pattern starts with (kefu_suggest_sum_history()), up to
 * KEFU_SUGGEST_SUM_TS of them, newest first.  Appends up to max - *n
 * entries to sums (types point into p); KEFU_ERROR if damaged, with the
 * entries read before kept.  A type may repeat across records:
 * kefu_suggest() adds them up.
 */
int kefu_suggest_sum_record(const unsigned char *p, size_t len,
    kefu_suggest_sum_t *sums, size_t max, size_t *n);
/*
 * Folds summary entries (several records' worth; sorted in place) into
 * one record written to out: per type the counts rescaled to ref and
 * added, timestamps merged; the cap types seen most recently.
 */
int kefu_suggest_sum_fold(kefu_suggest_sum_t *sums, size_t n, int64_t ref,
    double half_life, size_t cap, kefu_buf_t *out);
/* Adds ts to the newest-first distinct timestamps, keeping max (<= 4). */
void kefu_suggest_sum_insert(kefu_suggest_sum_t *sum, int64_t ts,
    size_t max);
/* 1 if the summary keeps a history of this event type's timestamps */
int kefu_suggest_sum_history(const unsigned char *type, size_t len);


/*
 * Hot questions, a counter that decays without being rewritten: an
 * answer at time t adds 2^((t - start) / H) to the FAQ's score in the
 * sorted set of its generation, which starts at
 * start = floor(t / (32 H)) x 32 H.  A score read at `now` times
 * kefu_hot_factor(now, H, start) is the number of answers weighted by
 * 2^(-age / H).  Increments stay below 2^32, so doubles never overflow;
 * readers add the current and the previous generation.
 */
int64_t kefu_hot_generation(int64_t now, int64_t half_life);
double kefu_hot_increment(int64_t now, int64_t half_life, int64_t start);
double kefu_hot_factor(int64_t now, int64_t half_life, int64_t start);

#endif /* KEFU_SUGGEST_H */
