/*
 * kefu_core_bench: retrieval speed and index size of the nginx-free core.
 *
 *   kefu_core_bench [--data DIR] [--queries N] [--sizes 1000,10000,...]
 *                   [--learned 0,1000,10000]
 *
 * --learned: for each size, the same KB with that many learned similar
 * questions merged (kefu_learn.c builds a tenant's KB that way: each
 * FAQ's learned questions after its own variants), learned question j
 * going to FAQ j mod size; the queries stay the same.
 * With --data the KB entries and queries are sentences of
 * DIR/afqmc/train.txt read at run time (s1 and label-0 s2 as entries,
 * other sentences as queries); without it, or beyond what the file holds,
 * sentences are generated from a Zipf-like character distribution.
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kefu_core.h"
#include "kefu_text.h"
#include "kefu_index.h"


typedef struct {
    kefu_str_t     *s;
    size_t          n;
    size_t          cap;
} bench_list_t;


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


static int
bench_push(bench_list_t *l, unsigned char *p, size_t len)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->s = realloc(l->s, l->cap * sizeof(kefu_str_t));

        if (l->s == NULL) {
            return -1;
        }
    }

    l->s[l->n].data = p;
    l->s[l->n].len = len;
    l->n++;

    return 0;
}


/* a deterministic generator: no global state */
static uint32_t
bench_rand(uint64_t *st)
{
    *st = *st * 6364136223846793005ull + 1442695040888963407ull;

    return (uint32_t) (*st >> 33);
}


static unsigned char *
bench_sentence(uint64_t *st, size_t *len)
{
    size_t          n, i;
    uint32_t        r, cp;
    unsigned char  *p;

    n = 6 + bench_rand(st) % 14;
    p = malloc(n * 3 + 1);
    if (p == NULL) {
        return NULL;
    }

    *len = 0;

    for (i = 0; i < n; i++) {
        /* squaring a uniform number skews towards frequent characters */
        r = bench_rand(st) % 3000;
        cp = 0x4e00 + (uint32_t) ((uint64_t) r * r / 3000);
        *len += kefu_utf8_encode(cp, p + *len);
    }

    return p;
}


static unsigned char *
bench_read(const char *dir, bench_list_t *kb, bench_list_t *qs)
{
    char            path[4096];
    long            n;
    FILE           *f;
    unsigned char  *buf, *p, *end, *t1, *t2, *nl;

    snprintf(path, sizeof(path), "%s/afqmc/train.txt", dir);

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "kefu_core_bench: %s: %s (generating)\n", path,
                strerror(errno));
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fclose(f);
        return NULL;
    }

    buf = malloc((size_t) n + 1);
    if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
        fclose(f);
        free(buf);
        return NULL;
    }

    fclose(f);
    p = buf;
    end = buf + n;

    while (p < end) {
        nl = memchr(p, '\n', (size_t) (end - p));
        if (nl == NULL) {
            nl = end;
        }

        t1 = memchr(p, '\t', (size_t) (nl - p));
        t2 = t1 ? memchr(t1 + 1, '\t', (size_t) (nl - t1 - 1)) : NULL;

        if (t2 != NULL && t2 + 1 < nl) {
            if (bench_push(kb, p, (size_t) (t1 - p)) != 0) {
                return NULL;
            }

            if (bench_push(t2[1] == '0' ? kb : qs, t1 + 1,
                           (size_t) (t2 - t1 - 1)) != 0)
            {
                return NULL;
            }
        }

        p = nl + 1;
    }

    return buf;
}


static int
bench_dcmp(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return x < y ? -1 : (x > y);
}


static int
bench_size(bench_list_t *kb, bench_list_t *qs, size_t size, size_t nq,
    size_t learned, uint64_t *st)
{
    int                     nh;
    size_t                  i, j, text, len, r;
    double                  t0, build, *lat, mean;
    unsigned char          *p;
    kefu_hit_t              hits[10];
    kefu_arena_t            tmp, ia, sa;
    kefu_index_t           *idx;
    kefu_index_builder_t   *b;
    kefu_search_scratch_t  *s;

    /* grow the entry list with generated sentences when short */
    while (kb->n < size + learned) {
        p = bench_sentence(st, &len);
        if (p == NULL || bench_push(kb, p, len) != 0) {
            return -1;
        }
    }

    while (qs->n < nq) {
        p = bench_sentence(st, &len);
        if (p == NULL || bench_push(qs, p, len) != 0) {
            return -1;
        }
    }

    kefu_arena_init(&tmp);
    kefu_arena_init(&ia);
    kefu_arena_init(&sa);

    t0 = bench_now();

    b = kefu_index_builder_create(&tmp.allocator, NULL, NULL);
    if (b == NULL) {
        return -1;
    }

    text = 0;

    for (i = 0; i < size; i++) {
        text += kb->s[i].len;

        if (kefu_index_add(b, (uint32_t) i, kb->s[i].data, kb->s[i].len)
            != KEFU_OK)
        {
            return -1;
        }

        /* learned questions of FAQ i: entries size + i + m * size */
        for (j = size + i; j < size + learned; j += size) {
            text += kb->s[j].len;

            if (kefu_index_add(b, (uint32_t) i, kb->s[j].data,
                               kb->s[j].len)
                != KEFU_OK)
            {
                return -1;
            }
        }
    }

    idx = kefu_index_build(b, &ia.allocator);
    if (idx == NULL) {
        return -1;
    }

    build = (bench_now() - t0) / 1e3;
    kefu_arena_free(&tmp);

    s = kefu_search_scratch_create(&sa.allocator, kefu_index_ndocs(idx));
    lat = malloc(nq * sizeof(double));
    if (s == NULL || lat == NULL) {
        return -1;
    }

    /* warm up caches once, then time every query on its own */
    for (i = 0; i < nq; i++) {
        (void) kefu_index_search(idx, s, qs->s[i].data, qs->s[i].len, NULL,
                                 hits, 10);
    }

    mean = 0;

    for (r = 0; r < 3; r++) {
        for (i = 0; i < nq; i++) {
            t0 = bench_now();
            nh = kefu_index_search(idx, s, qs->s[i].data, qs->s[i].len,
                                   NULL, hits, 10);
            lat[i] = bench_now() - t0;
            mean += lat[i];

            if (nh < 0) {
                return -1;
            }
        }
    }

    mean /= 3.0 * nq;
    qsort(lat, nq, sizeof(double), bench_dcmp);

    printf("%7zu %7zu %9.1f %8.2f %8.2f %8.2f %10zu %10zu %5.2f %8u\n",
           size, learned, build, lat[nq / 2], mean, lat[nq * 99 / 100],
           kefu_index_memory(idx), text,
           (double) kefu_index_memory(idx) / (double) text,
           kefu_index_nterms(idx));

    free(lat);
    kefu_arena_free(&ia);
    kefu_arena_free(&sa);

    return 0;
}


int
main(int argc, char **argv)
{
    int             i;
    size_t          nq, nsizes, sizes[16], nlearned, learned[16], l;
    uint64_t        st;
    char           *p;
    const char     *data;
    unsigned char  *buf;
    bench_list_t    kb, qs;

    data = NULL;
    nq = 2000;
    nsizes = 4;
    sizes[0] = 1000;
    sizes[1] = 10000;
    sizes[2] = 57000;
    sizes[3] = 100000;
    nlearned = 1;
    learned[0] = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data = argv[++i];

        } else if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc) {
            nq = strtoul(argv[++i], NULL, 10);

        } else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            nsizes = 0;

            for (p = argv[++i]; *p && nsizes < 16; p++) {
                sizes[nsizes++] = strtoul(p, &p, 10);

                if (*p == '\0') {
                    break;
                }
            }

        } else if (strcmp(argv[i], "--learned") == 0 && i + 1 < argc) {
            nlearned = 0;

            for (p = argv[++i]; *p && nlearned < 16; p++) {
                learned[nlearned++] = strtoul(p, &p, 10);

                if (*p == '\0') {
                    break;
                }
            }

        } else {
            fprintf(stderr, "usage: kefu_core_bench [--data DIR]"
                    " [--queries N] [--sizes N,N,...] [--learned N,...]\n");
            return 2;
        }
    }

    if (nq == 0) {
        nq = 1;
    }

    memset(&kb, 0, sizeof(kb));
    memset(&qs, 0, sizeof(qs));
    st = 42;
    buf = data ? bench_read(data, &kb, &qs) : NULL;

    printf("source: %s; %zu queries x 3 runs\n",
           buf ? "afqmc sentences (+generated beyond)" : "generated", nq);
    printf("%7s %7s %9s %8s %8s %8s %10s %10s %5s %8s\n", "entries",
           "learned", "build_ms", "p50_us", "mean_us", "p99_us", "index_B", "text_B",
           "ratio", "terms");

    for (i = 0; i < (int) nsizes; i++) {
        for (l = 0; l < nlearned; l++) {
            if (bench_size(&kb, &qs, sizes[i], nq, learned[l], &st) != 0) {
                fprintf(stderr, "kefu_core_bench: failed at %zu\n",
                        sizes[i]);
                return 1;
            }
        }
    }

    /* generated sentences are not freed: the process ends here */
    free(buf);

    return 0;
}
