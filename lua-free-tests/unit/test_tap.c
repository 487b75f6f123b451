/*
 * Unit tests: the pair a tap makes for the trainer (kefu_tap) on the
 * small test KB: a clarify choice or a related question of the previous
 * turn counts, anything else does not.
 */

#include "tap.h"
#include "kefu_tap.h"


#define KB_FILE  "lua-free-tests/unit/kb/good.json"


static kefu_str_t
S(const char *s)
{
    kefu_str_t  r;

    r.data = (unsigned char *) s;
    r.len = strlen(s);

    return r;
}


static kefu_ask_in_t
tap(const char *choice, const char *question)
{
    kefu_ask_in_t  in;

    memset(&in, 0, sizeof(in));

    if (choice != NULL) {
        in.choice = (const unsigned char *) choice;
        in.choice_len = strlen(choice);
    }

    if (question != NULL) {
        in.question = (const unsigned char *) question;
        in.qlen = strlen(question);
    }

    return in;
}


static void
turn(kefu_session_t *s, const char *q, const char *faq, char type)
{
    kefu_str_t  f = S(faq);

    kefu_session_add_turn(s, (const unsigned char *) q, strlen(q), &f, type,
                          4);
}


int
main(void)
{
    char             err[256];
    long             faq;
    kefu_kb_t       *kb;
    kefu_str_t       q;
    kefu_arena_t     arena;
    kefu_ask_in_t    in;
    kefu_session_t   s;
    unsigned char    buf[KEFU_SESSION_MAX_Q];
    unsigned char    longq[KEFU_SESSION_MAX_Q + 1];
    size_t           i;

    kefu_arena_init(&arena);
    kb = kefu_kb_load(&arena.allocator, KB_FILE, err, sizeof(err));
    ok(kb != NULL, "fixture KB loads");
    if (kb == NULL) {
        printf("# %s\n", err);
        return done_testing();
    }

    /* a clarify, then a tap on one of its choices */
    kefu_session_init(&s);
    turn(&s, "还款 怎么弄？", "", 'c');
    s.pending[0] = S("repay-how");
    s.pending[1] = S("repay-auto");
    s.npending = 2;

    in = tap("repay-auto", NULL);
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 1, "clarify choice");
    is_str(kb->faqs[faq].id.data, "repay-auto", "the chosen FAQ");
    ok(q.len > 0 && memchr(q.data, '?', q.len) == NULL
       && memcmp(q.data, "还款", 6) == 0, "the question, normalised");

    in = tap(NULL, "第一个");
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 1, "ordinal reply");
    is_str(kb->faqs[faq].id.data, "repay-how", "the first choice");

    in = tap("card-lost", NULL);
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 0,
           "a FAQ the clarify did not offer");

    in = tap("no-such", NULL);
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 0, "unknown FAQ");

    in = tap(NULL, "花呗怎么还款");
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 0,
           "a new question is no tap");

    /* an answer, then one of its related questions */
    kefu_session_init(&s);
    turn(&s, "花呗的钱咋还", "repay-how", 'a');
    in = tap("repay-fee", NULL);
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 1, "related tap");
    is_str(kb->faqs[faq].id.data, "repay-fee", "the related FAQ");

    in = tap("card-lost", NULL);
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 0,
           "not a related question of the answer");

    /* the chat page sends related taps as faq_id */
    in = tap(NULL, NULL);
    in.faq_id = (const unsigned char *) "repay-fee";
    in.faq_id_len = 9;
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 1,
           "related tap as faq_id");
    in.faq_id = (const unsigned char *) "card-lost";
    in.faq_id_len = 9;
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 0,
           "a faq_id the answer did not offer");

    /* the answer came from a tap: its text is the FAQ's own question */
    kefu_session_init(&s);
    turn(&s, "花呗怎么还款", "repay-how", 'a');
    in = tap("repay-fee", NULL);
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 0,
           "the FAQ's own question teaches nothing");

    /* the answer came from an ordinal reply: "第二个" is no question */
    kefu_session_init(&s);
    turn(&s, "第二个", "repay-how", 'a');
    in = tap("repay-fee", NULL);
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 0,
           "an ordinal reply teaches nothing");

    /* after a fallback, or with no previous turn */
    kefu_session_init(&s);
    in = tap("repay-fee", NULL);
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 0, "first turn");
    turn(&s, "哈哈哈", "", 'f');
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 0, "after fallback");

    /* a long question is cut at a character, at most 200 bytes */
    for (i = 0; i + 3 <= KEFU_SESSION_MAX_Q; i += 3) {
        memcpy(longq + i, "还", 3);
    }
    longq[i] = '\0';

    kefu_session_init(&s);
    turn(&s, (const char *) longq, "", 'c');
    s.pending[0] = S("repay-how");
    s.npending = 1;
    in = tap("repay-how", NULL);
    is_int(kefu_tap_pair(kb, &s, &in, &faq, buf, &q), 1, "long question");
    ok(q.len <= KEFU_TAP_MAX_Q && q.len % 3 == 0,
       "cut at a character boundary");

    kefu_arena_free(&arena);

    return done_testing();
}
