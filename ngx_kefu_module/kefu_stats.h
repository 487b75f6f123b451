/*
 * ngx_kefu: the trainer's statistics without nginx or Redis: the per-day
 * counters as /v1/ask and the service flows keep them (Redis hashes per
 * day: the tenant's and its buckets'), their sum over the hashes and a
 * period, and the robot resolution rate.
 */

#ifndef KEFU_STATS_H
#define KEFU_STATS_H

#include "kefu_json.h"


typedef enum {
    KEFU_ST_ASKED = 0,          /* /v1/ask turns */
    KEFU_ST_ANSWERED,           /* ... answered directly */
    KEFU_ST_CLARIFIED,          /* ... that asked back */
    KEFU_ST_FALLBACK,           /* ... "still learning" */
    KEFU_ST_HANDOFF,            /* ... that handed over (asked for one) */
    KEFU_ST_HANDOFFS,           /* tickets queued by /v1/handoff */
    KEFU_ST_HELPFUL,            /* feedback */
    KEFU_ST_UNHELPFUL,
    KEFU_ST_LOSS_REPORTS,
    KEFU_ST_POLICE_REPORTS,
    KEFU_ST_NFIELDS
} kefu_stat_e;


typedef struct {
    int64_t     v[KEFU_ST_NFIELDS];
} kefu_stats_t;


/* The Redis hash field (and JSON member) name of a counter. */
const char *kefu_stats_name(kefu_stat_e field);

/*
 * Takes one field/value pair of the day's hash; unknown fields and
 * values that are not integers are ignored (returns KEFU_ERROR for
 * them, for logging).
 */
int kefu_stats_set(kefu_stats_t *st, const unsigned char *name, size_t len,
    const unsigned char *value, size_t vlen);

void kefu_stats_add(kefu_stats_t *total, const kefu_stats_t *day);
/* a day's counters summed over its hashes never read below 0 */
void kefu_stats_floor(kefu_stats_t *st);

/*
 * resolved = max(0, answered - unhelpful), never more than asked;
 * resolution rate = resolved / asked (0 without questions).
 */
int64_t kefu_stats_resolved(const kefu_stats_t *st);
double kefu_stats_rate(const kefu_stats_t *st);

/* {["date":"YYYY-MM-DD",]"asked":N,...,"resolved":N,"unresolved":N,
 * "resolution_rate":R}; date (may be NULL) is "YYYYMMDD" */
void kefu_stats_json(const kefu_stats_t *st, const char *date,
    kefu_buf_t *b);

/* "YYYYMMDD" (8 characters and a NUL) of day `back` days before now, UTC */
void kefu_stats_day(int64_t now, int back, char *buf);

#endif /* KEFU_STATS_H */
