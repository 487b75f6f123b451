/*
 * ngx_kefu: the trail summary, a user's events per type (/v1/events).
 *
 * One record of the summary list (see ngx_http_kefu_events.c):
 * "R;X c ts[ ts...];Y c ts..." -- R the reference time of the counts c,
 * per event type its count as of R and its newest timestamp or, for the
 * types a risk pattern starts with (kefu_trail_sum_history()), up to
 * KEFU_TRAIL_SUM_TS of them, newest first.
 */

#ifndef KEFU_TRAIL_H
#define KEFU_TRAIL_H

#include "kefu_core.h"
#include "kefu_json.h"


/* event types kept per user, timestamps kept per type */
#define KEFU_TRAIL_SUM_TYPES        64
#define KEFU_TRAIL_SUM_TS           4


/*
 * One event type of a user's trail summary, kept up to date by
 * POST /v1/events (the Lua script in ngx_http_kefu_events.c): the number
 * of events, each decayed by 2^(-age / half_life), as of time ref (may be
 * > 1 for a ref in the past), and the type's newest timestamp or, for
 * risk pattern starts, its newest KEFU_TRAIL_SUM_TS distinct ones.
 */
typedef struct {
    kefu_str_t      type;
    double          count;
    int64_t         ref;
    int64_t         ts[KEFU_TRAIL_SUM_TS];      /* newest first */
    size_t          nts;                        /* >= 1 */
} kefu_trail_sum_t;


/*
 * Reads one record: appends up to max - *n entries to sums (types point
 * into p); KEFU_ERROR if damaged, with the entries read before kept.  A
 * type may repeat across records: kefu_suggest() adds them up.
 */
int kefu_trail_sum_record(const unsigned char *p, size_t len,
    kefu_trail_sum_t *sums, size_t max, size_t *n);
/*
 * Folds summary entries (several records' worth; sorted in place) into
 * one record written to out: per type the counts rescaled to ref and
 * added, timestamps merged; the cap types seen most recently.
 */
int kefu_trail_sum_fold(kefu_trail_sum_t *sums, size_t n, int64_t ref,
    double half_life, size_t cap, kefu_buf_t *out);
/* Adds ts to the newest-first distinct timestamps, keeping max (<= 4). */
void kefu_trail_sum_insert(kefu_trail_sum_t *sum, int64_t ts, size_t max);
/* 1 if the summary keeps a history of this event type's timestamps */
int kefu_trail_sum_history(const unsigned char *type, size_t len);

#endif /* KEFU_TRAIL_H */
