/*
 * Shared by the libFuzzer targets: the entry point and an assertion that
 * stays on in every build (a failed one is a finding, like a crash).
 */

#ifndef KEFU_FUZZ_H
#define KEFU_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>


#define fuzz_assert(cond)                                                     \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "assertion failed: %s (line %d)\n", #cond,        \
                    __LINE__);                                                \
            abort();                                                          \
        }                                                                     \
    } while (0)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* KEFU_FUZZ_H */
