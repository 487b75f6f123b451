/*
 * Unit tests: the decaying hot-question counter's arithmetic.  Run from
 * the repository's top directory.
 */

#include <math.h>

#include "tap.h"
#include "kefu_hot.h"


static void
test_hot(void)
{
    int64_t  h, g, start, t1, t2, now;
    double   s, want;

    h = 3600;
    g = h * KEFU_HOT_GENERATION;

    start = kefu_hot_generation(1800000000, h);
    ok(start <= 1800000000 && 1800000000 - start < g && start % g == 0,
       "generation start");
    is_int(kefu_hot_generation(start + g, h), start + g, "next generation");
    is_int(kefu_hot_generation(start + g - 1, h), start, "last second");

    /* two answers, read later: each counts 2^(-age/H) */
    t1 = start + 100;
    t2 = start + 7300;
    now = start + 10900;
    s = kefu_hot_increment(t1, h, start) + kefu_hot_increment(t2, h, start);
    want = exp2(-(double) (now - t1) / h) + exp2(-(double) (now - t2) / h);
    ok(fabs(s * kefu_hot_factor(now, h, start) - want) < 1e-9,
       "decayed count");
    ok(kefu_hot_increment(start + g - 1, h, start) < 4294967296.0,
       "increments stay below 2^32");

    /* the previous generation, read in the next one */
    now = start + g + 50;
    ok(fabs(kefu_hot_increment(t2, h, start) * kefu_hot_factor(now, h, start)
            - exp2(-(double) (now - t2) / h)) < 1e-9,
       "previous generation decays the same way");
}


int
main(void)
{
    test_hot();

    return done_testing();
}
