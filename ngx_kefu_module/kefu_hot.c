/*
 * ngx_kefu: the arithmetic of the decaying hot-question counter.
 */

#include <math.h>

#include "kefu_hot.h"


int64_t
kefu_hot_generation(int64_t now, int64_t half_life)
{
    int64_t  g;

    if (half_life <= 0 || now < 0) {
        return 0;
    }

    g = half_life * KEFU_HOT_GENERATION;

    return now - now % g;
}


double
kefu_hot_increment(int64_t now, int64_t half_life, int64_t start)
{
    if (half_life <= 0) {
        return 1;
    }

    return exp2((double) (now - start) / (double) half_life);
}


double
kefu_hot_factor(int64_t now, int64_t half_life, int64_t start)
{
    if (half_life <= 0) {
        return 1;
    }

    return exp2(-(double) (now - start) / (double) half_life);
}
