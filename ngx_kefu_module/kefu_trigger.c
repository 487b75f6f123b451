/*
 * ngx_kefu: the trigger index of a KB, trigger -> FAQs and FAQ -> triggers.
 *
 * An open-addressing hash of the distinct (name, scene) pairs; per entry
 * its postings sorted strongest first, so that a broad trigger is capped
 * by taking a prefix, and its risk FAQs apart; and the forward map that
 * explains a FAQ's score.
 */

#include <stdlib.h>

#include "kefu_trigger.h"


struct kefu_trigger_index_s {
    const kefu_kb_t         *kb;
    kefu_trigger_entry_t    *entries;
    uint32_t                 nentries;
    uint32_t                *slots;     /* entry index + 1 */
    uint32_t                 mask;
    kefu_trigger_posting_t  *postings;
    kefu_trigger_posting_t  *risk;
    uint32_t                *fwd_first; /* per FAQ, nfaqs + 1 */
    kefu_trigger_fwd_t      *fwd;
};

uint32_t
kefu_trigger_hash(const unsigned char *p, size_t len, uint32_t seed)
{
    size_t    i;
    uint32_t  h;

    /* FNV-1a */
    h = 2166136261u ^ seed;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }

    return h;
}


const kefu_trigger_entry_t *
kefu_trigger_lookup(const kefu_trigger_index_t *idx, const unsigned char *name,
    size_t len, uint32_t scene)
{
    uint32_t                     h, slot, v;
    const kefu_trigger_entry_t  *e;

    if (idx->nentries == 0 || len == 0) {
        return NULL;
    }

    h = kefu_trigger_hash(name, len, scene);
    slot = h & idx->mask;

    for ( ;; ) {
        v = idx->slots[slot];

        if (v == 0) {
            return NULL;
        }

        e = &idx->entries[v - 1];

        if (e->hash == h && e->scene == scene && e->len == len
            && memcmp(e->name, name, len) == 0)
        {
            return e;
        }

        slot = (slot + 1) & idx->mask;
    }
}


static int
kefu_trigger_posting_cmp(const void *a, const void *b)
{
    const kefu_trigger_posting_t  *x = a, *y = b;

    if (x->weight != y->weight) {
        return x->weight > y->weight ? -1 : 1;
    }

    return x->faq < y->faq ? -1 : (x->faq > y->faq);
}


kefu_trigger_index_t *
kefu_trigger_index_build(kefu_alloc_t *a, const kefu_kb_t *kb)
{
    size_t                       i, j, total, size, nrisk;
    uint32_t                     h, slot, v, first, *fill, e;
    kefu_trigger_t              *tr;
    kefu_trigger_fwd_t          *fw;
    kefu_trigger_entry_t        *en;
    kefu_trigger_index_t        *idx;
    kefu_trigger_posting_t      *po;
    const kefu_trigger_entry_t  *found;

    idx = kefu_calloc(a, sizeof(kefu_trigger_index_t));
    if (idx == NULL) {
        return NULL;
    }

    idx->kb = kb;

    total = 0;
    for (i = 0; i < kb->nfaqs; i++) {
        total += kb->faqs[i].ntriggers;
    }

    if (total > UINT32_MAX / 4 || kb->nfaqs > UINT32_MAX / 4) {
        return NULL;
    }

    idx->fwd_first = kefu_calloc(a, (kb->nfaqs + 1) * sizeof(uint32_t));
    if (idx->fwd_first == NULL) {
        return NULL;
    }

    if (total == 0) {
        return idx;
    }

    for (size = 16; size < total * 2; size <<= 1) {
        /* void */
    }

    idx->slots = kefu_calloc(a, size * sizeof(uint32_t));
    idx->entries = kefu_calloc(a, total * sizeof(kefu_trigger_entry_t));
    idx->postings = kefu_alloc(a, total * sizeof(kefu_trigger_posting_t));
    idx->risk = kefu_alloc(a, total * sizeof(kefu_trigger_posting_t));
    idx->fwd = kefu_alloc(a, total * sizeof(kefu_trigger_fwd_t));
    fill = kefu_calloc(a, (kb->nfaqs + total) * sizeof(uint32_t));
    if (idx->slots == NULL || idx->entries == NULL || idx->postings == NULL
        || idx->risk == NULL || idx->fwd == NULL || fill == NULL)
    {
        return NULL;
    }

    idx->mask = (uint32_t) size - 1;

    /* pass 1: distinct names and their posting counts */
    for (i = 0; i < kb->nfaqs; i++) {
        for (j = 0; j < kb->faqs[i].ntriggers; j++) {
            tr = &kb->faqs[i].triggers[j];
            h = kefu_trigger_hash(tr->name.data, tr->name.len, tr->scene);
            slot = h & idx->mask;

            for ( ;; ) {
                v = idx->slots[slot];

                if (v == 0) {
                    en = &idx->entries[idx->nentries++];
                    en->name = tr->name.data;
                    en->len = (uint32_t) tr->name.len;
                    en->hash = h;
                    en->scene = tr->scene;
                    en->n = 1;
                    idx->slots[slot] = idx->nentries;
                    break;
                }

                en = &idx->entries[v - 1];

                if (en->hash == h && en->scene == tr->scene
                    && en->len == tr->name.len
                    && memcmp(en->name, tr->name.data, en->len) == 0)
                {
                    en->n++;
                    break;
                }

                slot = (slot + 1) & idx->mask;
            }
        }
    }

    first = 0;
    for (e = 0; e < idx->nentries; e++) {
        idx->entries[e].first = first;
        first += idx->entries[e].n;
    }

    /* pass 2: postings, then strongest first within each name */
    for (i = 0; i < kb->nfaqs; i++) {
        for (j = 0; j < kb->faqs[i].ntriggers; j++) {
            tr = &kb->faqs[i].triggers[j];
            found = kefu_trigger_lookup(idx, tr->name.data, tr->name.len,
                                        tr->scene);
            if (found == NULL) {
                return NULL;    /* cannot happen */
            }

            e = (uint32_t) (found - idx->entries);
            po = &idx->postings[found->first + fill[kb->nfaqs + e]++];
            po->faq = (uint32_t) i;
            po->weight = (float) tr->weight;
        }
    }

    nrisk = 0;

    for (e = 0; e < idx->nentries; e++) {
        en = &idx->entries[e];
        po = &idx->postings[en->first];

        qsort(po, en->n, sizeof(kefu_trigger_posting_t),
              kefu_trigger_posting_cmp);

        en->ncap = en->n < KEFU_TRIGGER_MAX_POSTINGS
                   ? en->n : KEFU_TRIGGER_MAX_POSTINGS;
        en->rfirst = (uint32_t) nrisk;

        for (j = 0; j < en->n; j++) {
            if (kb->faqs[po[j].faq].risk) {
                idx->risk[nrisk++] = po[j];
            }
        }

        en->rn = (uint32_t) (nrisk - en->rfirst);
    }

    /* the forward map FAQ -> (name, weight), to explain a FAQ's score */
    first = 0;
    for (i = 0; i < kb->nfaqs; i++) {
        idx->fwd_first[i] = first;
        first += kb->faqs[i].ntriggers;
    }

    idx->fwd_first[kb->nfaqs] = first;

    for (e = 0; e < idx->nentries; e++) {
        en = &idx->entries[e];
        po = &idx->postings[en->first];

        for (j = 0; j < en->n; j++) {
            fw = &idx->fwd[idx->fwd_first[po[j].faq] + fill[po[j].faq]++];
            fw->entry = e;
            fw->weight = po[j].weight;
            fw->in_cap = j < en->ncap;
        }
    }

    return idx;
}


const kefu_kb_t *
kefu_trigger_index_kb(const kefu_trigger_index_t *idx)
{
    return idx->kb;
}


const kefu_trigger_entry_t *
kefu_trigger_entry_at(const kefu_trigger_index_t *idx, uint32_t entry)
{
    return &idx->entries[entry];
}


const kefu_trigger_posting_t *
kefu_trigger_postings(const kefu_trigger_index_t *idx,
    const kefu_trigger_entry_t *e, size_t *n)
{
    *n = e->ncap;

    return &idx->postings[e->first];
}


const kefu_trigger_posting_t *
kefu_trigger_risk(const kefu_trigger_index_t *idx,
    const kefu_trigger_entry_t *e, size_t *n)
{
    *n = e->rn;

    return &idx->risk[e->rfirst];
}


const kefu_trigger_fwd_t *
kefu_trigger_of_faq(const kefu_trigger_index_t *idx, uint32_t faq,
    size_t *n)
{
    *n = idx->fwd_first[faq + 1] - idx->fwd_first[faq];

    /* a KB without triggers has no forward map at all */
    return *n ? &idx->fwd[idx->fwd_first[faq]] : NULL;
}
