/*
 * Unit tests: session context encoding and dialogue turns (kefu_session,
 * kefu_dialog) on a small knowledge base written for the tests.
 */

#include "tap.h"
#include "kefu_dialog.h"


#define KB_FILE  "lua-free-tests/unit/kb/good.json"


static kefu_ask_in_t
question(const char *q)
{
    kefu_ask_in_t  in;

    memset(&in, 0, sizeof(in));
    in.question = (const unsigned char *) q;
    in.qlen = strlen(q);
    in.high = 0.6;
    in.low = 0.35;
    in.max_turns = 4;
    in.now = 1700000000;

    return in;
}


static const char *
faq_id(const kefu_kb_t *kb, const kefu_ask_out_t *out)
{
    return out->faq >= 0 ? (const char *) kb->faqs[out->faq].id.data : "-";
}


static void
test_ordinals(void)
{
    is_int(kefu_dialog_ordinal((const unsigned char *) "第一个", 9), 1,
           "第一个");
    is_int(kefu_dialog_ordinal((const unsigned char *) "我选第二个吧", 18),
           2, "我选第二个吧");
    is_int(kefu_dialog_ordinal((const unsigned char *) " 3 ", 3), 3,
           "digit with spaces");
    is_int(kefu_dialog_ordinal((const unsigned char *) "第三条。", 12), 3,
           "第三条 with punctuation");
    is_int(kefu_dialog_ordinal((const unsigned char *) "提现100", 9), 0,
           "a number inside a question is no ordinal");
    is_int(kefu_dialog_ordinal((const unsigned char *) "第四个", 9), 0,
           "only three choices");
    is_int(kefu_dialog_ordinal((const unsigned char *) "一个人怎么转账",
                               21), 0,
           "一 inside a question is no ordinal");
}


static void
test_session(void)
{
    size_t          i;
    kefu_buf_t      b;
    kefu_str_t      faq = { 4, (unsigned char *) "x-1\"" };
    kefu_arena_t    arena;
    kefu_session_t  s, d;
    unsigned char   longq[400];

    kefu_arena_init(&arena);
    kefu_session_init(&s);
    s.turn = 7;
    s.fallbacks = 1;
    s.emergency = 1;
    s.updated = 1700000000;
    s.topic.data = (unsigned char *) "repay-how";
    s.topic.len = 9;
    s.pending[0] = s.topic;
    s.npending = 1;

    for (i = 0; i < 6; i++) {
        kefu_session_add_turn(&s, (const unsigned char *) "问\"题\n", 8,
                              &faq, 'a', 4);
    }

    is_int(s.nturns, 4, "turns capped at max");

    memset(longq, 0, sizeof(longq));
    for (i = 0; i + 3 <= sizeof(longq); i += 3) {
        memcpy(longq + i, "问", 3);
    }

    kefu_session_add_turn(&s, longq, 399, &faq, 'f', 4);
    is_int(s.turns[3].q.len, 300, "long question cut at 300 bytes");
    ok((s.turns[3].q.len % 3) == 0, "cut on a character boundary");

    kefu_buf_init(&b, &arena.allocator, 16);
    kefu_session_encode(&s, &b);
    ok(!b.failed, "encoded");

    is_int(kefu_session_decode(&arena.allocator, b.data, b.len, &d),
           KEFU_OK, "decodes");
    is_int(d.turn, 7, "turn round trip");
    is_int(d.fallbacks, 1, "fallbacks round trip");
    is_int(d.emergency, 1, "emergency round trip");
    is_str((char *) d.topic.data, "repay-how", "topic round trip");
    is_int(d.npending, 1, "pending round trip");
    is_int(d.nturns, 4, "turns round trip");
    ok(d.turns[0].q.len == 8 && memcmp(d.turns[0].q.data, "问\"题\n", 8) == 0,
       "question with quote and newline round trip");
    is_int(d.turns[3].type, 'f', "turn type round trip");

    is_int(kefu_session_decode(&arena.allocator,
                               (const unsigned char *) "{\"turn\":\"x\"}", 12,
                               &d),
           KEFU_ERROR, "wrong type rejected");
    is_int(d.turn, 0, "and the session is empty");
    is_int(kefu_session_decode(&arena.allocator,
                               (const unsigned char *) "garbage", 7, &d),
           KEFU_ERROR, "garbage rejected");

    kefu_arena_free(&arena);
}


static void
test_dialog(void)
{
    char                    err[256];
    kefu_kb_t              *kb;
    kefu_arena_t            arena;
    kefu_ask_in_t           in;
    kefu_ask_out_t          out;
    kefu_session_t          s;
    kefu_search_scratch_t  *scratch;

    kefu_arena_init(&arena);
    kb = kefu_kb_load(&arena.allocator, KB_FILE, err, sizeof(err));
    ok(kb != NULL, "fixture KB loads") ;
    if (kb == NULL) {
        printf("# %s\n", err);
        kefu_arena_free(&arena);
        return;
    }

    scratch = kefu_kb_scratch_create(&arena.allocator, kb);
    kefu_session_init(&s);

    /* a tapped suggestion */
    in = question("");
    in.question = NULL;
    in.faq_id = (const unsigned char *) "repay-auto";
    in.faq_id_len = 10;
    is_int(kefu_dialog_ask(kb, scratch, &s, &in, &out), KEFU_OK, "faq_id");
    is_int(out.type, KEFU_REPLY_ANSWER, "faq_id answers");
    is_str(faq_id(kb, &out), "repay-auto", "that FAQ");
    is_int(s.turn, 1, "turn counted");
    is_str((char *) s.topic.data, "repay-auto", "topic set");

    in.faq_id = (const unsigned char *) "nope";
    in.faq_id_len = 4;
    is_int(kefu_dialog_ask(kb, scratch, &s, &in, &out), KEFU_ERROR,
           "unknown faq_id refused");
    is_str(out.error, "unknown faq_id", "with a reason");
    is_int(s.turn, 1, "a refused turn changes nothing");

    /* a close paraphrase answers */
    in = question("支付密码忘记了怎么办");
    is_int(kefu_dialog_ask(kb, scratch, &s, &in, &out), KEFU_OK, "ask");
    is_str(faq_id(kb, &out), "password-reset", "paraphrase found");

    /* emergency: actions and priority, from the FAQ or from the words */
    kefu_session_init(&s);
    in = question("我的卡被偷了");
    kefu_dialog_ask(kb, scratch, &s, &in, &out);
    ok(out.actions & KEFU_ACT_LOSS_REPORT, "loss_report action");
    ok(out.actions & KEFU_ACT_POLICE_REPORT, "police_report action");
    ok(out.actions & KEFU_ACT_HANDOFF, "handoff action");
    ok(out.priority, "priority");
    is_int(s.emergency, 1, "session remembers the emergency");

    kefu_session_init(&s);
    in = question("我的钱被盗刷了");
    kefu_dialog_ask(kb, scratch, &s, &in, &out);
    is_int(out.type, KEFU_REPLY_ANSWER, "emergency words always answer");
    ok(out.actions & KEFU_ACT_POLICE_REPORT, "police_report offered");
    ok(out.priority, "with priority");

    /* a human request */
    kefu_session_init(&s);
    in = question("转人工");
    kefu_dialog_ask(kb, scratch, &s, &in, &out);
    is_int(out.type, KEFU_REPLY_HANDOFF, "human request hands off");
    ok(out.handoff_suggested, "handoff suggested");

    /* two fallbacks in a row */
    kefu_session_init(&s);
    in = question("今天天气怎么样");
    kefu_dialog_ask(kb, scratch, &s, &in, &out);
    is_int(out.type, KEFU_REPLY_FALLBACK, "out of domain falls back");
    ok(!out.handoff_suggested, "one fallback: no handoff yet");
    in = question("asdfgh");
    kefu_dialog_ask(kb, scratch, &s, &in, &out);
    is_int(out.type, KEFU_REPLY_FALLBACK, "second fallback");
    ok(out.handoff_suggested, "two fallbacks: handoff suggested");
    is_int(s.fallbacks, 2, "counted in the session");

    /* a pending clarify answered by ordinal */
    kefu_session_init(&s);
    s.pending[0].data = (unsigned char *) "transfer-delay";
    s.pending[0].len = 14;
    s.pending[1].data = (unsigned char *) "transfer-fee";
    s.pending[1].len = 12;
    s.npending = 2;
    in = question("第二个");
    kefu_dialog_ask(kb, scratch, &s, &in, &out);
    is_str(faq_id(kb, &out), "transfer-fee", "第二个 picks the second");
    is_int(out.resolved_by, 3, "resolved by ordinal");
    is_int(s.npending, 0, "pending cleared");

    /* an angry user gets the soothing variant */
    kefu_session_init(&s);
    in = question("");
    in.question = (const unsigned char *) "气死了!!!花呗怎么还款";
    in.qlen = strlen((const char *) in.question);
    in.faq_id = (const unsigned char *) "repay-how";
    in.faq_id_len = 9;
    kefu_dialog_ask(kb, scratch, &s, &in, &out);
    is_int(out.emotion, KEFU_EMOTION_ANGRY, "anger detected");
    ok(out.text.data == kb->faqs[out.faq].soothing.data,
       "soothing variant chosen");

    kefu_arena_free(&arena);
}


int
main(void)
{
    test_ordinals();
    test_session();
    test_dialog();

    return done_testing();
}
