/*
 * ngx_kefu: the arithmetic of the decaying hot-question counter.
 *
 * Hot questions, a counter that decays without being rewritten: an
 * answer at time t adds 2^((t - start) / H) to the FAQ's score in the
 * sorted set of its generation, which starts at
 * start = floor(t / (32 H)) x 32 H.  A score read at `now` times
 * kefu_hot_factor(now, H, start) is the number of answers weighted by
 * 2^(-age / H).  Increments stay below 2^32, so doubles never overflow;
 * readers add the current and the previous generation.
 */

#ifndef KEFU_HOT_H
#define KEFU_HOT_H

#include "kefu_core.h"


/* one sorted set per generation of this many half-lives */
#define KEFU_HOT_GENERATION         32


int64_t kefu_hot_generation(int64_t now, int64_t half_life);
double kefu_hot_increment(int64_t now, int64_t half_life, int64_t start);
double kefu_hot_factor(int64_t now, int64_t half_life, int64_t start);

#endif /* KEFU_HOT_H */
