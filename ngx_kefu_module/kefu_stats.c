/*
 * ngx_kefu: statistics aggregation.
 */

#include <time.h>

#include "kefu_stats.h"


static const char  *kefu_stats_names[KEFU_ST_NFIELDS] = {
    "asked", "answered", "clarified", "fallback", "handoff", "handoffs",
    "helpful", "unhelpful", "loss_reports", "police_reports"
};


const char *
kefu_stats_name(kefu_stat_e field)
{
    return kefu_stats_names[field];
}


int
kefu_stats_set(kefu_stats_t *st, const unsigned char *name, size_t len,
    const unsigned char *value, size_t vlen)
{
    int      neg;
    size_t   i;
    int64_t  v;

    for (i = 0; i < KEFU_ST_NFIELDS; i++) {
        if (strlen(kefu_stats_names[i]) == len
            && memcmp(kefu_stats_names[i], name, len) == 0)
        {
            break;
        }
    }

    if (i == KEFU_ST_NFIELDS || vlen == 0 || vlen > 18) {
        return KEFU_ERROR;
    }

    neg = value[0] == '-';
    v = 0;

    for (len = neg; len < vlen; len++) {
        if (value[len] < '0' || value[len] > '9') {
            return KEFU_ERROR;
        }

        v = v * 10 + (value[len] - '0');
    }

    if (neg && vlen == 1) {
        return KEFU_ERROR;
    }

    /* below 0 when changed feedback took back, in one hash, a verdict
     * another counted: the day's sum is floored (kefu_stats_floor) */
    st->v[i] = neg ? -v : v;

    return KEFU_OK;
}


void
kefu_stats_add(kefu_stats_t *total, const kefu_stats_t *day)
{
    size_t  i;

    for (i = 0; i < KEFU_ST_NFIELDS; i++) {
        total->v[i] += day->v[i];
    }
}


void
kefu_stats_floor(kefu_stats_t *st)
{
    size_t  i;

    for (i = 0; i < KEFU_ST_NFIELDS; i++) {
        if (st->v[i] < 0) {
            st->v[i] = 0;
        }
    }
}


int64_t
kefu_stats_resolved(const kefu_stats_t *st)
{
    int64_t  r;

    r = st->v[KEFU_ST_ANSWERED] - st->v[KEFU_ST_UNHELPFUL];

    if (r < 0) {
        r = 0;
    }

    if (r > st->v[KEFU_ST_ASKED]) {
        r = st->v[KEFU_ST_ASKED];
    }

    return r;
}


double
kefu_stats_rate(const kefu_stats_t *st)
{
    if (st->v[KEFU_ST_ASKED] <= 0) {
        return 0.0;
    }

    return (double) kefu_stats_resolved(st) / (double) st->v[KEFU_ST_ASKED];
}


void
kefu_stats_json(const kefu_stats_t *st, const char *date, kefu_buf_t *b)
{
    size_t   i;
    int64_t  resolved;

    kefu_buf_adds(b, "{");

    if (date != NULL && strlen(date) == 8) {
        kefu_buf_addf(b, "\"date\":\"%.4s-%.2s-%.2s\",", date, date + 4,
                      date + 6);
    }

    for (i = 0; i < KEFU_ST_NFIELDS; i++) {
        kefu_buf_addf(b, "%s\"%s\":%lld", i ? "," : "", kefu_stats_names[i],
                      (long long) st->v[i]);
    }

    resolved = kefu_stats_resolved(st);

    kefu_buf_addf(b, ",\"resolved\":%lld,\"unresolved\":%lld,"
                  "\"resolution_rate\":%.4f}", (long long) resolved,
                  (long long) (st->v[KEFU_ST_ASKED] - resolved),
                  kefu_stats_rate(st));
}


void
kefu_stats_day(int64_t now, int back, char *buf)
{
    time_t     t;
    struct tm  tm;

    t = (time_t) (now - (int64_t) back * 86400);

    if (gmtime_r(&t, &tm) == NULL || strftime(buf, 9, "%Y%m%d", &tm) != 8) {
        memcpy(buf, "19700101", 9);
    }
}
