/*
 * ngx_kefu: learned similar questions (issue 13).
 *
 * A trainer adopts a user's wording as a similar question of an FAQ
 * without editing the KB file.  The learned questions of a tenant are
 * merged into a copy of its file KB whose index is built exactly as a KB
 * file holding them would be (each FAQ's learned questions after its
 * file paraphrases, in the order given), so ranking, clarify choices,
 * confidence and the console see one KB, and a reload with the exported
 * file ranks every question the same (same documents, same statistics,
 * same self-calibration).  Everything else (FAQs, answers, synonyms) is
 * shared with the file KB.
 */

#ifndef KEFU_LEARN_H
#define KEFU_LEARN_H

#include "kefu_kb.h"
#include "kefu_json.h"


#define KEFU_LEARN_MAX_LEN   512        /* bytes of a learned question */


typedef struct {
    uint32_t              faq;          /* FAQ index in the file KB */
    const unsigned char  *text;
    size_t                len;
    unsigned              known:2;      /* 0: look whether the file KB has
                                           it; 1: it has not; 2: it has
                                           (a previous merge's kept[]) */
} kefu_learned_t;


/*
 * The file KB base with the learned questions l[0..n-1] merged, tagged
 * with generation (memo keys use it).  A learned question whose wording
 * (after the index's normalisation) the file KB already holds, or that
 * is invalid, is left out and kept[i] set to 0 (else 1; kept may be
 * NULL): after an export and a reload those are the ones the file now
 * has.  Looking costs a search per question: l[i].known passes on what
 * an earlier merge over the same base found.  Temporary memory comes
 * from a private arena.  NULL for want of memory.
 */
kefu_kb_t *kefu_kb_merge(kefu_alloc_t *a, const kefu_kb_t *base,
    const kefu_learned_t *l, size_t n, uint64_t generation,
    unsigned char *kept);

/*
 * The FAQ index of a variant of kb worded like q (same normalised term
 * set, what `exact` means in ranking), -1 for none, or KEFU_ERROR (-1 is
 * taken, so -2) when q is not valid UTF-8 or has no searchable text.
 */
#define KEFU_LEARN_INVALID  (-2)
long kefu_kb_exact(const kefu_kb_t *kb, kefu_search_scratch_t *s,
    const unsigned char *q, size_t len);

/*
 * A 16-hex-digit key of q's normalised wording: two questions the index
 * cannot tell apart get the same key (storage deduplicates by it).
 * Returns KEFU_OK, or KEFU_ERROR for invalid or empty text.
 */
int kefu_learn_key(kefu_alloc_t *tmp, const kefu_syn_t *syn,
    const unsigned char *q, size_t len, unsigned char *key16);

/*
 * Automatic adoption (learn_auto_adopt): a tapped pair, "faq_id TAB
 * normalised question" as the ask turn counts it (kefu_tap.h), seen by
 * users distinct users.  Returns the FAQ index the question should be
 * learned for, with *q the question inside pair, when users reaches
 * min_users (never below 2: one user does not teach alone), kb has that
 * FAQ and does not hold the wording yet (kefu_kb_exact), and the
 * question is short enough not to have been cut; else -1.
 */
#define KEFU_LEARN_AUTO_MIN_USERS  2
long kefu_learn_auto_pick(const kefu_kb_t *kb, kefu_search_scratch_t *s,
    const unsigned char *pair, size_t len, uint64_t users,
    uint64_t min_users, kefu_str_t *q);

/*
 * The KB file text (file/len, the file kb was loaded from) with each
 * FAQ's "similar" list replaced by kb's (the file's paraphrases and the
 * learned ones): a valid KB file that loads into the same index.  Other
 * members keep their order and values.  KEFU_OK or KEFU_ERROR (err).
 */
int kefu_kb_export(kefu_alloc_t *tmp, const unsigned char *file, size_t len,
    const kefu_kb_t *kb, kefu_buf_t *out, char *err, size_t errlen);

#endif /* KEFU_LEARN_H */
