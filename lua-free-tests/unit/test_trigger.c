/*
 * Unit tests: the trigger index of a KB (lookup, postings strongest
 * first and capped, risk FAQs, the forward map).  Run from the
 * repository's top directory.
 */

#include <stdio.h>
#include <stdlib.h>

#include "tap.h"
#include "kefu_core.h"
#include "kefu_kb.h"
#include "kefu_trigger.h"


#define NBROAD  300     /* FAQs triggered by "broad", > the cap */


static kefu_kb_t *
load(kefu_arena_t *a, const char *json)
{
    char        err[512];
    kefu_kb_t  *kb;

    kb = kefu_kb_load_buf(&a->allocator, (const unsigned char *) json,
                          strlen(json), "test", err, sizeof(err));
    if (kb == NULL) {
        printf("# KB: %s\n", err);
    }

    return kb;
}


static const kefu_trigger_entry_t *
find(const kefu_trigger_index_t *idx, const char *name, uint32_t scene)
{
    return kefu_trigger_lookup(idx, (const unsigned char *) name,
                               strlen(name), scene);
}


static int
named(const kefu_trigger_entry_t *e, const char *name, uint32_t scene)
{
    return e != NULL && e->len == strlen(name)
           && memcmp(e->name, name, e->len) == 0 && e->scene == scene;
}


int
main(void)
{
    char                          *buf, *p;
    size_t                         i, n, k;
    unsigned                       seen;
    kefu_kb_t                     *kb, *bare;
    kefu_arena_t                   a;
    kefu_trigger_index_t          *idx, *bidx;
    const kefu_trigger_fwd_t      *fw;
    const kefu_trigger_entry_t    *e, *es;
    const kefu_trigger_posting_t  *po;

    kefu_arena_init(&a);

    buf = malloc(NBROAD * 160 + 1024);
    if (buf == NULL) {
        ok(0, "malloc");
        return done_testing();
    }

    /*
     * f0..f3 test lookup and order; f4 has no trigger; f5.. are
     * triggered by "broad", 256 of them at weight 2, then weight 1, the
     * last one a risk FAQ.
     */
    p = buf + sprintf(buf, "{\"version\":\"t\",\"welcome\":[\"f0\"],\"faqs\":["
        "{\"id\":\"f0\",\"question\":\"q0\",\"answer\":\"a\",\"triggers\":["
        "{\"event\":\"transfer_failed\",\"weight\":3},"
        "{\"scene\":\"transfer\",\"weight\":2}]},"
        "{\"id\":\"f1\",\"question\":\"q1\",\"answer\":\"a\",\"risk\":true,"
        "\"triggers\":[{\"event\":\"transfer_failed\",\"weight\":5}]},"
        "{\"id\":\"f2\",\"question\":\"q2\",\"answer\":\"a\",\"triggers\":["
        "{\"event\":\"transfer_failed\",\"weight\":3}]},"
        "{\"id\":\"f3\",\"question\":\"q3\",\"answer\":\"a\",\"triggers\":["
        "{\"event\":\"transfer\",\"weight\":1}]},"
        "{\"id\":\"f4\",\"question\":\"q4\",\"answer\":\"a\"}");

    for (i = 0; i < NBROAD; i++) {
        p += sprintf(p, ",{\"id\":\"f%zu\",\"question\":\"q%zu\","
                     "\"answer\":\"a\",%s\"triggers\":[{\"event\":\"broad\","
                     "\"weight\":%d}]}", 5 + i, 5 + i,
                     i == NBROAD - 1 ? "\"risk\":true," : "",
                     i < KEFU_TRIGGER_MAX_POSTINGS ? 2 : 1);
    }

    strcpy(p, "]}");

    kb = load(&a, buf);
    bare = load(&a, "{\"version\":\"t\",\"welcome\":[\"x\"],\"faqs\":["
                    "{\"id\":\"x\",\"question\":\"q\",\"answer\":\"a\"}]}");
    free(buf);
    ok(kb != NULL && bare != NULL, "KBs load");
    if (kb == NULL || bare == NULL) {
        return done_testing();
    }

    idx = kefu_trigger_index_build(&a.allocator, kb);
    ok(idx != NULL, "index built");
    if (idx == NULL) {
        return done_testing();
    }

    ok(kefu_trigger_index_kb(idx) == kb, "index knows its KB");

    /* lookup: event types and scenes apart */
    e = find(idx, "transfer_failed", 0);
    ok(named(e, "transfer_failed", 0), "event type found");
    es = find(idx, "transfer", 1);
    ok(named(es, "transfer", 1), "scene found");
    ok(named(find(idx, "transfer", 0), "transfer", 0)
       && find(idx, "transfer", 0) != es, "an event named like a scene");
    ok(find(idx, "transfer_failed", 1) == NULL, "not a scene");
    ok(find(idx, "transfer_fail", 0) == NULL && find(idx, "", 0) == NULL,
       "unknown or empty name");

    /* postings: strongest first, ties in KB order */
    po = kefu_trigger_postings(idx, e, &n);
    ok(n == 3 && po[0].faq == 1 && po[0].weight == 5
       && po[1].faq == 0 && po[1].weight == 3
       && po[2].faq == 2 && po[2].weight == 3, "postings strongest first");
    po = kefu_trigger_risk(idx, e, &n);
    ok(n == 1 && po[0].faq == 1, "its risk FAQ");
    po = kefu_trigger_postings(idx, es, &n);
    ok(n == 1 && po[0].faq == 0 && po[0].weight == 2, "scene posting");

    /* a broad trigger: capped to its strongest, risk FAQs all kept */
    e = find(idx, "broad", 0);
    po = kefu_trigger_postings(idx, e, &n);
    is_int(n, KEFU_TRIGGER_MAX_POSTINGS, "capped postings");
    for (i = 0, k = 1; i < n; i++) {
        k &= po[i].weight == 2 && po[i].faq == 5 + i;
    }
    ok(k, "the strongest kept, in KB order");
    po = kefu_trigger_risk(idx, e, &n);
    ok(n == 1 && po[0].faq == 5 + NBROAD - 1, "risk FAQ beyond the cap");

    /* the forward map */
    fw = kefu_trigger_of_faq(idx, 0, &n);
    seen = 0;
    for (i = 0; i < n; i++) {
        e = kefu_trigger_entry_at(idx, fw[i].entry);
        if (named(e, "transfer_failed", 0) && fw[i].weight == 3
            && fw[i].in_cap)
        {
            seen |= 1;
        }
        if (named(e, "transfer", 1) && fw[i].weight == 2 && fw[i].in_cap) {
            seen |= 2;
        }
    }
    ok(n == 2 && seen == 3, "a FAQ's triggers");
    fw = kefu_trigger_of_faq(idx, 5, &n);
    ok(n == 1 && fw[0].in_cap, "within the cap");
    fw = kefu_trigger_of_faq(idx, 5 + NBROAD - 1, &n);
    ok(n == 1 && !fw[0].in_cap && fw[0].weight == 1, "beyond the cap");
    fw = kefu_trigger_of_faq(idx, 4, &n);
    ok(n == 0, "a FAQ without triggers");

    /* a KB without any trigger */
    bidx = kefu_trigger_index_build(&a.allocator, bare);
    ok(bidx != NULL && find(bidx, "transfer_failed", 0) == NULL,
       "no triggers: nothing found");
    ok(bidx != NULL && kefu_trigger_of_faq(bidx, 0, &n) == NULL && n == 0,
       "and no forward map");

    kefu_arena_free(&a);

    return done_testing();
}
