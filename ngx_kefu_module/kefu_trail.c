/*
 * ngx_kefu: the trail summary, a user's events per type (/v1/events).
 */

#include <math.h>
#include <stdlib.h>

#include "kefu_event.h"
#include "kefu_risk.h"
#include "kefu_trail.h"


int
kefu_trail_sum_record(const unsigned char *p, size_t len,
    kefu_trail_sum_t *sums, size_t max, size_t *n)
{
    char               buf[48], *end;
    size_t             i, j, k, nts;
    double             c;
    int64_t            ref, ts;
    kefu_trail_sum_t  *sm;

    i = 0;
    ref = 0;

    while (i < len && p[i] >= '0' && p[i] <= '9' && ref < INT64_MAX / 100) {
        ref = ref * 10 + (p[i++] - '0');
    }

    if (i == 0 || (i < len && p[i] != ';')) {
        return KEFU_ERROR;
    }

    while (i < len && *n < max) {
        i++;                                /* ';' */
        sm = &sums[*n];

        /* the type */
        for (j = i; j < len && p[j] != ' ' && p[j] != ';'; j++) {
            /* void */
        }

        if (j == len || p[j] != ' '
            || !kefu_event_type_valid(p + i, j - i, KEFU_EVENT_MAX_TYPE))
        {
            return KEFU_ERROR;
        }

        sm->type.data = (unsigned char *) p + i;
        sm->type.len = j - i;
        i = j + 1;

        /* the count */
        for (j = i; j < len && p[j] != ' ' && p[j] != ';'; j++) {
            /* void */
        }

        if (j == len || p[j] != ' ' || j - i == 0 || j - i >= sizeof(buf)) {
            return KEFU_ERROR;
        }

        memcpy(buf, p + i, j - i);
        buf[j - i] = '\0';

        c = strtod(buf, &end);
        if (end != buf + (j - i) || !(c >= 0) || c > 1e300) {
            return KEFU_ERROR;
        }

        i = j;
        nts = 0;

        /* the timestamps, newest first */
        while (i < len && p[i] == ' ') {
            i++;
            ts = 0;
            k = i;

            while (i < len && p[i] >= '0' && p[i] <= '9'
                   && ts < INT64_MAX / 100)
            {
                ts = ts * 10 + (p[i++] - '0');
            }

            if (i == k || nts == KEFU_TRAIL_SUM_TS) {
                return KEFU_ERROR;
            }

            sm->ts[nts++] = ts;
        }

        if (nts == 0 || (i < len && p[i] != ';')) {
            return KEFU_ERROR;
        }

        sm->count = c;
        sm->ref = ref;
        sm->nts = nts;
        (*n)++;
    }

    return KEFU_OK;
}


static int
kefu_trail_sum_by_type(const void *a, const void *b)
{
    int                      c;
    size_t                   n;
    const kefu_trail_sum_t  *x = a, *y = b;

    n = x->type.len < y->type.len ? x->type.len : y->type.len;
    c = memcmp(x->type.data, y->type.data, n);

    if (c != 0) {
        return c;
    }

    return (x->type.len > y->type.len) - (x->type.len < y->type.len);
}


static int
kefu_trail_sum_by_newest(const void *a, const void *b)
{
    const kefu_trail_sum_t  *x = a, *y = b;

    return (x->ts[0] < y->ts[0]) - (x->ts[0] > y->ts[0]);
}


int
kefu_trail_sum_fold(kefu_trail_sum_t *sums, size_t n, int64_t ref,
    double half_life, size_t cap, kefu_buf_t *out)
{
    size_t             i, j, k, m, max;
    kefu_trail_sum_t  *d, *e;

    if (n == 0 || !(half_life > 0)) {
        return KEFU_ERROR;
    }

    qsort(sums, n, sizeof(kefu_trail_sum_t), kefu_trail_sum_by_type);

    /* merge each type's entries into its first one, counts as of ref */
    m = 0;

    for (i = 0; i < n; i = j) {
        d = &sums[m++];
        *d = sums[i];
        d->count = sums[i].count
                   * exp2((double) (sums[i].ref - ref) / half_life);
        max = kefu_trail_sum_history(d->type.data, d->type.len)
              ? KEFU_TRAIL_SUM_TS : 1;

        if (d->nts > max) {
            d->nts = max;
        }

        for (j = i + 1; j < n && kefu_trail_sum_by_type(&sums[i], &sums[j])
                                 == 0; j++)
        {
            e = &sums[j];
            d->count += e->count * exp2((double) (e->ref - ref) / half_life);

            /* merge the two newest-first lists, distinct, max kept */
            for (k = 0; k < e->nts; k++) {
                kefu_trail_sum_insert(d, e->ts[k], max);
            }
        }

        d->ref = ref;
    }

    /* the types seen most recently */
    qsort(sums, m, sizeof(kefu_trail_sum_t), kefu_trail_sum_by_newest);

    if (m > cap) {
        m = cap;
    }

    kefu_buf_add_int(out, (long long) ref);

    for (i = 0; i < m; i++) {
        kefu_buf_adds(out, ";");
        kefu_buf_add(out, sums[i].type.data, sums[i].type.len);
        kefu_buf_addf(out, " %.9g", sums[i].count);

        for (k = 0; k < sums[i].nts; k++) {
            kefu_buf_adds(out, " ");
            kefu_buf_add_int(out, (long long) sums[i].ts[k]);
        }
    }

    return out->failed ? KEFU_ERROR : KEFU_OK;
}


void
kefu_trail_sum_insert(kefu_trail_sum_t *sum, int64_t ts, size_t max)
{
    size_t  k;

    for (k = 0; k < sum->nts && sum->ts[k] > ts; k++) {
        /* void */
    }

    if ((k < sum->nts && sum->ts[k] == ts) || k >= max) {
        return;
    }

    if (sum->nts < max) {
        sum->nts++;
    }

    memmove(&sum->ts[k + 1], &sum->ts[k],
            (sum->nts - 1 - k) * sizeof(int64_t));
    sum->ts[k] = ts;
}


int
kefu_trail_sum_history(const unsigned char *type, size_t len)
{
    return kefu_risk_starts(type, len);
}
