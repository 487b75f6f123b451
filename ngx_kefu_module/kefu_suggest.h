/*
 * ngx_kefu: "猜你关心", the ranking of suggestions for one user.
 *
 * The nginx-free part of GET /v1/suggestions (SPEC §1, §4): the user's
 * trail (event types with weights, decayed by age; kefu_trail.h), the
 * current scene, the tenant's hot questions (kefu_hot.h), risk patterns
 * (fraud first; kefu_risk.h), no repeats of recently asked FAQs,
 * diversity across topics, the KB's welcome questions as the last
 * resort; all looked up in the KB's trigger index (kefu_trigger.h).
 */

#ifndef KEFU_SUGGEST_H
#define KEFU_SUGGEST_H

#include "kefu_core.h"
#include "kefu_kb.h"
#include "kefu_trail.h"
#include "kefu_trigger.h"


#define KEFU_SUGGEST_MAX_LIMIT      20
#define KEFU_SUGGEST_MAX_TYPES      512     /* distinct event types used */


typedef enum {
    KEFU_REASON_WELCOME = 0,
    KEFU_REASON_HOT,
    KEFU_REASON_SCENE,
    KEFU_REASON_EVENT,
    KEFU_REASON_RISK
} kefu_reason_e;


typedef struct kefu_suggest_scratch_s  kefu_suggest_scratch_t;


typedef struct {
    kefu_str_t      type;
    int64_t         age;            /* seconds; negative counts as 0 */
} kefu_suggest_event_t;


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
    const kefu_trail_sum_t      *sums;      /* or its summary, or both */
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
 * KEFU_TRIGGER_MAX_POSTINGS FAQs adds only to that many of its strongest
 * (heaviest weight, then KB order): a signal that broad says little, and
 * the cost stays bounded on very large KBs.  Risk patterns found in the
 * trail within risk_window put the KB's risk FAQs triggered by the
 * pattern's events in a first tier, ahead of every other FAQ whatever
 * its score.  Recently
 * asked FAQs are left out; at most per_topic items of one topic are taken
 * while other candidates or welcome questions remain.  Returns KEFU_OK,
 * or KEFU_ERROR if the scratch is too small for the KB.
 */
int kefu_suggest(const kefu_trigger_index_t *idx, kefu_suggest_scratch_t *s,
    const kefu_suggest_params_t *p, const kefu_suggest_in_t *in,
    kefu_suggest_out_t *out);

/* "welcome", "hot", "scene", "event", "risk" */
const char *kefu_suggest_reason_name(kefu_reason_e reason);

#endif /* KEFU_SUGGEST_H */
