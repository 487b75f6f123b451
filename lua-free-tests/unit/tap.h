/*
 * Minimal TAP producer for the core's unit tests (read by prove).
 */

#ifndef KEFU_TAP_H
#define KEFU_TAP_H

#include <stdio.h>
#include <string.h>

static int  tap_n;
static int  tap_failed;

#define ok(cond, ...)                                                         \
    do {                                                                      \
        int ok_c_ = (cond) ? 1 : 0;                                           \
        tap_n++;                                                              \
        if (!ok_c_) {                                                         \
            tap_failed++;                                                     \
        }                                                                     \
        printf("%sok %d - ", ok_c_ ? "" : "not ", tap_n);                     \
        printf(__VA_ARGS__);                                                  \
        printf("\n");                                                         \
        if (!ok_c_) {                                                         \
            printf("#   failed at %s line %d\n", __FILE__, __LINE__);         \
        }                                                                     \
    } while (0)

#define is_int(got, want, ...)                                                \
    do {                                                                      \
        long long is_g_ = (long long) (got), is_w_ = (long long) (want);      \
        ok(is_g_ == is_w_, __VA_ARGS__);                                      \
        if (is_g_ != is_w_) {                                                 \
            printf("#   got %lld, want %lld\n", is_g_, is_w_);                \
        }                                                                     \
    } while (0)

#define is_str(got, want, ...)                                                \
    do {                                                                      \
        const char *is_g_ = (const char *) (got);                             \
        const char *is_w_ = (const char *) (want);                            \
        int is_ok_ = is_g_ != NULL && is_w_ != NULL                           \
                     && strcmp(is_g_, is_w_) == 0;                            \
        ok(is_ok_, __VA_ARGS__);                                              \
        if (!is_ok_) {                                                        \
            printf("#   got '%s', want '%s'\n", is_g_ ? is_g_ : "(null)",     \
                   is_w_ ? is_w_ : "(null)");                                 \
        }                                                                     \
    } while (0)

static inline int
done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif /* KEFU_TAP_H */
