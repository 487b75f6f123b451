/*
 * Unit tests: the trail summary records of /v1/events (parse, fold,
 * timestamp history).  Run from the repository's top directory.
 */

#include "tap.h"
#include "kefu_core.h"
#include "kefu_trail.h"


static void
test_record(void)
{
    size_t             i, n;
    kefu_trail_sum_t   sm[16];

    static const char  rec1[] =
        "1000;transfer_failed 2 1900;bill_due 0.5 1000;"
        "login_new_device 1 1100 1000";
    static const char  rec2[] = "2000;transfer_failed 1 2000";

    n = 0;
    ok(kefu_trail_sum_record((const unsigned char *) rec1,
                             sizeof(rec1) - 1, sm, 16, &n) == KEFU_OK,
       "summary record parses");
    is_int(n, 3, "three types");
    ok(sm[0].type.len == 15 && memcmp(sm[0].type.data, "transfer_failed", 15)
       == 0, "type");
    ok(sm[0].count == 2 && sm[0].ref == 1000 && sm[0].nts == 1
       && sm[0].ts[0] == 1900, "count, ref, newest");
    ok(sm[2].nts == 2 && sm[2].ts[0] == 1100 && sm[2].ts[1] == 1000,
       "a risk start keeps its history");
    ok(kefu_trail_sum_record((const unsigned char *) rec2,
                             sizeof(rec2) - 1, sm, 16, &n) == KEFU_OK
       && n == 4, "a second record appends");

    n = 0;
    ok(kefu_trail_sum_record((const unsigned char *) rec1,
                             sizeof(rec1) - 1, sm, 2, &n) == KEFU_OK
       && n == 2, "no more entries than there is room for");

    for (i = 0; i < 6; i++) {
        static const char  *bad[] = {
            "", ";x 1 2", "10;X 1 2", "10;x 1", "10;x -1 2",
            "10;x 1 1 2 3 4 5"
        };

        n = 0;
        ok(kefu_trail_sum_record((const unsigned char *) bad[i],
                                 strlen(bad[i]), sm, 16, &n)
           == KEFU_ERROR && n == 0, "damaged record %zu refused", i);
    }

    ok(kefu_trail_sum_history((const unsigned char *) "login_new_device",
                              16)
       && !kefu_trail_sum_history((const unsigned char *) "bill_due", 8),
       "history for risk pattern starts only");
}


/* folding records: counts rescaled and added, times merged */

static void
test_fold(void)
{
    size_t             n;
    kefu_buf_t         fb;
    kefu_arena_t       fa;
    kefu_trail_sum_t   sm[16];

    static const char  f1[] = "1000;a 2 1500;login_new_device 1 1200";
    static const char  f2[] =
        "4600;a 1 4600;login_new_device 1 4000 3000;b 3 4500";

    kefu_arena_init(&fa);
    n = 0;
    ok(kefu_trail_sum_record((const unsigned char *) f1,
                             sizeof(f1) - 1, sm, 16, &n) == KEFU_OK
       && kefu_trail_sum_record((const unsigned char *) f2,
                                sizeof(f2) - 1, sm, 16, &n)
          == KEFU_OK && n == 5, "two records to fold");
    kefu_buf_init(&fb, &fa.allocator, 64);
    ok(kefu_trail_sum_fold(sm, n, 4600, 3600, 2, &fb) == KEFU_OK,
       "folded");
    kefu_buf_add(&fb, "", 1);
    is_str((char *) fb.data,
           "4600;a 2 4600;b 3 4500",
           "rescaled, added, the 2 types seen last kept");
    n = 0;
    ok(kefu_trail_sum_record((const unsigned char *) f1,
                             sizeof(f1) - 1, sm, 16, &n) == KEFU_OK
       && kefu_trail_sum_record((const unsigned char *) f2,
                                sizeof(f2) - 1, sm, 16, &n)
          == KEFU_OK, "again");
    kefu_buf_init(&fb, &fa.allocator, 64);
    ok(kefu_trail_sum_fold(sm, n, 4600, 3600, 64, &fb) == KEFU_OK,
       "folded, all kept");
    kefu_buf_add(&fb, "", 1);
    is_str((char *) fb.data,
           "4600;a 2 4600;b 3 4500;login_new_device 1.5 4000 3000 1200",
           "history merged newest first");

    ok(kefu_trail_sum_fold(sm, 0, 4600, 3600, 64, &fb) == KEFU_ERROR
       && kefu_trail_sum_fold(sm, n, 4600, 0, 64, &fb) == KEFU_ERROR,
       "nothing to fold, or no half-life: refused");
    kefu_arena_free(&fa);
}


static void
test_insert(void)
{
    kefu_trail_sum_t  s;

    memset(&s, 0, sizeof(s));
    s.ts[0] = 100;
    s.nts = 1;

    kefu_trail_sum_insert(&s, 300, 4);
    kefu_trail_sum_insert(&s, 200, 4);
    kefu_trail_sum_insert(&s, 200, 4);
    ok(s.nts == 3 && s.ts[0] == 300 && s.ts[1] == 200 && s.ts[2] == 100,
       "newest first, distinct");

    kefu_trail_sum_insert(&s, 50, 3);
    ok(s.nts == 3 && s.ts[2] == 100, "older than the max kept: dropped");
    kefu_trail_sum_insert(&s, 400, 3);
    ok(s.nts == 3 && s.ts[0] == 400 && s.ts[1] == 300 && s.ts[2] == 200,
       "a newer one pushes the oldest out");
}


int
main(void)
{
    test_record();
    test_fold();
    test_insert();

    return done_testing();
}
