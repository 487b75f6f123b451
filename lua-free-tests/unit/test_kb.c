/*
 * Unit tests: KB loader and validator, search through the KB, intents,
 * tone variants.  Run from the repository's top directory.
 */

#include <stdlib.h>

#include "tap.h"
#include "kefu_core.h"
#include "kefu_kb.h"
#include "kefu_dialog.h"


#define KB_DIR  "lua-free-tests/unit/kb/"


static kefu_kb_t *
load(kefu_arena_t *a, const char *file, char *err, size_t len)
{
    return kefu_kb_load(&a->allocator, file, err, len);
}


static int
has(const char *s, const char *sub)
{
    return strstr(s, sub) != NULL;
}


static long
ask(const kefu_kb_t *kb, kefu_search_scratch_t *s, const char *q,
    long prev, kefu_hit_t *h)
{
    int  n;

    n = kefu_kb_search(kb, s, (const unsigned char *) q, strlen(q), prev, h,
                       5);

    return n > 0 ? (long) h[0].faq : -1;
}


static unsigned
intents(const kefu_kb_t *kb, const char *q)
{
    return kefu_kb_intents(kb, (const unsigned char *) q, strlen(q));
}


/*
 * The demo-KB probe (KB_DIR "demo_probe.tsv": paraphrases that are not in
 * the KB, typos, colloquial forms, follow-ups, out-of-domain input) run
 * through whole dialogue turns with the default thresholds.  Every turn
 * that must fall back has to; the rest must reach the recorded accuracy.
 */
static void
probe(kefu_arena_t *arena)
{
    int                     nf;
    char                    err[512], line[1024], *f[4], *p, *sess;
    char                    prev[64];
    FILE                   *fp;
    size_t                  n, nid, good_id, good_dec, nood, good_ood;
    kefu_kb_t              *kb;
    kefu_ask_in_t           in;
    kefu_ask_out_t          out;
    kefu_session_t          st;
    kefu_search_scratch_t  *s;
    double                  w[4];
    const kefu_str_t       *got;
    static const char      *types[] = { "answer", "clarify", "fallback",
                                        "handoff" };

    kb = kefu_kb_load(&arena->allocator, "demo/kb.json", err, sizeof(err));
    ok(kb != NULL, "demo KB loads (%s)", kb ? "" : err);
    fp = fopen(KB_DIR "demo_probe.tsv", "r");
    ok(fp != NULL, "probe file");

    if (kb == NULL || fp == NULL) {
        return;
    }

    ok(kefu_index_calibration(kb->index, w) >= 500 && w[1] == w[1],
       "demo KB calibrates its confidence on its paraphrases");

    s = kefu_kb_scratch_create(&arena->allocator, kb);
    n = nid = good_id = good_dec = nood = good_ood = 0;
    prev[0] = '\0';
    kefu_session_init(&st);

    while (fgets(line, sizeof(line), fp) != NULL) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }

        line[strcspn(line, "\n")] = '\0';

        for (nf = 0, p = line; nf < 4 && p != NULL; nf++) {
            f[nf] = p;
            p = strchr(p, '\t');

            if (p != NULL) {
                *p++ = '\0';
            }
        }

        if (nf != 4) {
            continue;
        }

        sess = f[0];

        if (strcmp(sess, "-") == 0 || strcmp(sess, prev) != 0) {
            /* sessions keep pointers into the line: they die with it */
            kefu_session_init(&st);
        }

        snprintf(prev, sizeof(prev), "%s", strcmp(sess, "-") ? sess : "");

        memset(&in, 0, sizeof(in));
        in.question = (const unsigned char *) f[1];
        in.qlen = strlen(f[1]);
        in.high = 0.6;
        in.low = 0.35;
        in.max_turns = 8;

        if (kefu_dialog_ask(kb, s, &st, &in, &out) != KEFU_OK) {
            ok(0, "probe turn \"%s\" runs", f[1]);
            continue;
        }

        /* the session's strings point into this line: keep only the id */
        st.nturns = 0;

        got = out.type == KEFU_REPLY_ANSWER && out.faq >= 0
              ? &kb->faqs[out.faq].id
              : out.type == KEFU_REPLY_CLARIFY && out.nchoices > 0
              ? &kb->faqs[out.choices[0]].id : NULL;

        n++;
        good_dec += strcmp(types[out.type], f[3]) == 0;

        if (strcmp(f[3], "fallback") == 0) {
            nood++;
            good_ood += out.type == KEFU_REPLY_FALLBACK;

            if (out.type != KEFU_REPLY_FALLBACK) {
                printf("# probe: \"%s\" (session %s) got %s\n", f[1],
                       sess, types[out.type]);
            }

        } else if (strcmp(f[2], "-") != 0) {
            nid++;
            good_id += got != NULL
                       && strcmp((const char *) got->data, f[2]) == 0;
        }
    }

    fclose(fp);

    ok(n >= 50, "probe has %zu turns", n);
    is_int(good_ood, nood, "out-of-domain probe turns all fall back");
    ok(good_id * 100 >= nid * 88, "probe: right FAQ offered first in"
       " %zu of %zu", good_id, nid);
    ok(good_dec * 100 >= n * 80, "probe: right decision in %zu of %zu",
       good_dec, n);
}


int
main(void)
{
    char                    err[512], path[256];
    const char             *min;
    long                    f, g;
    size_t                  i;
    kefu_hit_t              h[5];
    kefu_arena_t            arena;
    kefu_kb_t              *kb;
    const kefu_str_t       *ans;
    kefu_search_scratch_t  *s;
    static const struct {
        const char  *file;
        const char  *want1;
        const char  *want2;
    } bad[] = {
        { "dup_id.json", "faq \"a\" (#1)", "duplicate id" },
        { "missing_answer.json", "faq \"a\" (#0)", "missing answer" },
        { "empty_question.json", "faq \"a\"", "empty question" },
        { "bad_utf8_id.json", "invalid JSON", "invalid UTF-8 at byte" },
        { "bad_utf8.json", "invalid JSON", "invalid UTF-8 at byte" },
        { "bad_follow_up.json", "faq \"a\"", "unknown follow_up id \"nope\"" },
        { "bad_action.json", "faq \"a\"", "unknown action \"freeze\"" },
        { "bad_trigger.json", "faq \"a\"", "bad trigger #0" },
        { "bad_welcome.json", "bad_welcome.json: ", "unknown welcome id" },
        { "unknown_key.json", "faq \"a\"", "unknown key \"answr\"" },
        { "truncated.json", "truncated.json: ", "invalid JSON" },
        { "no-such-file.json", "no-such-file.json", "cannot open" },
    };
    static const struct {
        const char  *json;
        const char  *want;
    } bufs[] = {
        { "[]", "top level is not an object" },
        { "{\"faqs\": []}", "missing version" },
        { "{\"version\": \"1\", \"faqs\": []}", "faqs is empty" },
        { "{\"version\": \"1\", \"faq\": []}", "unknown key \"faq\"" },
        { "{\"version\": \"1\", \"faqs\": [{\"question\": \"q\","
          " \"answer\": \"a\"}]}", "missing id" },
        { "{\"version\": \"1\", \"faqs\": [{\"id\": \"a b\","
          " \"question\": \"q\", \"answer\": \"a\"}]}", "bad id" },
        { "{\"version\": \"1\", \"faqs\": [{\"id\": \"a\","
          " \"question\": \"？！\", \"answer\": \"a\"}]}",
          "no searchable text" },
        { "{\"version\": \"1\", \"faqs\": [{\"id\": \"a\","
          " \"question\": \"q\", \"answer\": \"a\", \"risk\": 1}]}",
          "risk is not a boolean" },
        { "{\"version\": \"1\", \"faqs\": [{\"id\": \"a\","
          " \"question\": \"q\", \"answer\": \"a\","
          " \"triggers\": [{\"event\": \"x\", \"scene\": \"y\"}]}]}",
          "exactly one of" },
        { "{\"version\": \"1\", \"faqs\": [{\"id\": \"a\","
          " \"question\": \"q\", \"answer\": \"a\","
          " \"answers\": {\"happy\": \"x\"}}]}", "unknown key \"happy\"" },
        { "{\"version\": \"1\", \"synonyms\": [[\"a\"]], \"faqs\":"
          " [{\"id\": \"a\", \"question\": \"q\", \"answer\": \"a\"}]}",
          "synonyms group #0" },
        { "{\"version\": \"1\", \"keywords\": {\"sad\": []}, \"faqs\":"
          " [{\"id\": \"a\", \"question\": \"q\", \"answer\": \"a\"}]}",
          "unknown key \"sad\" in keywords" },
    };

    kefu_arena_init(&arena);

    /* the good KB */
    kb = load(&arena, KB_DIR "good.json", err, sizeof(err));
    ok(kb != NULL, "good KB loads (%s)", kb ? "" : err);

    if (kb == NULL) {
        return done_testing();
    }

    is_int(kb->nfaqs, 12, "faq count");
    is_str((char *) kb->version.data, "2026-11-01", "version");
    is_int(kb->nwelcome, 2, "welcome list");
    ok(kb->text_bytes > 0, "text bytes");
    f = kefu_kb_find(kb, (const unsigned char *) "card-lost", 9);
    ok(f >= 0 && (kb->faqs[f].actions & KEFU_ACT_LOSS_REPORT)
       && (kb->faqs[f].actions & KEFU_ACT_POLICE_REPORT)
       && kb->faqs[f].risk, "actions and risk");
    is_int(kefu_kb_find(kb, (const unsigned char *) "nope", 4), -1,
           "unknown id");
    g = kefu_kb_find(kb, (const unsigned char *) "transfer-delay", 14);
    ok(g >= 0 && kb->faqs[g].ntriggers == 1
       && kb->faqs[g].triggers[0].weight == 3
       && !kb->faqs[g].triggers[0].scene, "event trigger");
    f = kefu_kb_find(kb, (const unsigned char *) "repay-how", 9);
    ok(f >= 0 && kb->faqs[f].nfollow_ups == 2, "follow-ups resolved");

    s = kefu_kb_scratch_create(&arena.allocator, kb);
    ok(s != NULL, "scratch");

    /* retrieval through the KB, synonyms included */
    f = ask(kb, s, "hb怎么还款", -1, h);
    is_str(f >= 0 ? (char *) kb->faqs[f].id.data : "", "repay-how",
           "latin synonym");
    f = ask(kb, s, "花唄要怎麼還", -1, h);
    is_str(f >= 0 ? (char *) kb->faqs[f].id.data : "", "repay-how",
           "traditional synonym");
    f = ask(kb, s, "支付密码忘记了怎么办", -1, h);
    is_str(f >= 0 ? (char *) kb->faqs[f].id.data : "", "password-reset",
           "paraphrase");
    f = ask(kb, s, "yeb一天能赚多少钱", -1, h);
    is_str(f >= 0 ? (char *) kb->faqs[f].id.data : "", "yeb-income",
           "synonym inside a paraphrase");
    f = ask(kb, s, "哈哈", -1, h);
    ok(f < 0 || h[0].confidence < 0.35f, "out of domain");
    f = ask(kb, s, "你好啊", -1, h);
    ok(f < 0 || h[0].confidence < 0.35f, "greeting is out of domain");

    /* context */
    g = kefu_kb_find(kb, (const unsigned char *) "repay-auto", 10);
    f = ask(kb, s, "那怎么关闭呢", g, h);
    is_str(f >= 0 ? (char *) kb->faqs[f].id.data : "", "repay-auto-off",
           "elliptic follow-up in context");
    g = kefu_kb_find(kb, (const unsigned char *) "transfer-delay", 14);
    f = ask(kb, s, "手续费呢", g, h);
    is_str(f >= 0 ? (char *) kb->faqs[f].id.data : "", "transfer-fee",
           "follow-up stays in the topic");
    f = ask(kb, s, "忘记支付密码怎么找回", g, h);
    is_str(f >= 0 ? (char *) kb->faqs[f].id.data : "", "password-reset",
           "a full question leaves the topic");

    /* intents */
    is_int(intents(kb, "我要转人工"), KEFU_INTENT_HUMAN,
           "human (KB list)");
    is_int(intents(kb, "我的卡被盗刷了"), KEFU_INTENT_EMERGENCY,
           "emergency (built-in list)");
    ok(intents(kb, "手機丟了怎麼辦") & KEFU_INTENT_ANXIOUS,
       "anxious in traditional script");
    is_int(intents(kb, "怎么还没到账!!!"), KEFU_INTENT_ANGRY, "angry");
    is_int(intents(kb, "退款怎么还没到，气死了"), KEFU_INTENT_ANGRY,
           "angry words");
    is_int(intents(kb, "急死了，马上要用钱"), KEFU_INTENT_ANXIOUS,
           "anxious");
    is_int(intents(kb, "怎么还款"), 0, "calm");
    is_int(kefu_kb_emotion(KEFU_INTENT_ANGRY | KEFU_INTENT_ANXIOUS),
           KEFU_EMOTION_ANGRY, "angry wins");

    /* tone variants */
    f = kefu_kb_find(kb, (const unsigned char *) "card-lost", 9);
    ans = kefu_kb_answer(kb, (uint32_t) f, KEFU_EMOTION_ANGRY);
    ok(ans == &kb->faqs[f].soothing, "angry -> soothing");
    ans = kefu_kb_answer(kb, (uint32_t) f, KEFU_EMOTION_ANXIOUS);
    ok(ans == &kb->faqs[f].reassuring, "anxious -> reassuring");
    ans = kefu_kb_answer(kb, (uint32_t) f, KEFU_EMOTION_CALM);
    ok(ans == &kb->faqs[f].answer, "calm -> answer");
    f = kefu_kb_find(kb, (const unsigned char *) "repay-how", 9);
    ans = kefu_kb_answer(kb, (uint32_t) f, KEFU_EMOTION_ANXIOUS);
    ok(ans == &kb->faqs[f].soothing, "anxious falls back to soothing");
    f = kefu_kb_find(kb, (const unsigned char *) "phone-lost", 10);
    ans = kefu_kb_answer(kb, (uint32_t) f, KEFU_EMOTION_ANGRY);
    ok(ans == &kb->faqs[f].answer, "no variant -> answer");
    ok(kefu_kb_answer(kb, 999, KEFU_EMOTION_CALM) == NULL, "bad index");
    is_str(kefu_kb_action_name(KEFU_ACT_POLICE_REPORT), "police_report",
           "action name");

    /* loader errors: file, FAQ and reason in the message */
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(path, sizeof(path), KB_DIR "%s", bad[i].file);
        kb = load(&arena, path, err, sizeof(err));
        ok(kb == NULL && has(err, bad[i].file) && has(err, bad[i].want1)
           && has(err, bad[i].want2), "%s: %s", bad[i].file, err);
    }

    for (i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
        kb = kefu_kb_load_buf(&arena.allocator,
                              (const unsigned char *) bufs[i].json,
                              strlen(bufs[i].json), "t.json", err,
                              sizeof(err));
        ok(kb == NULL && has(err, "t.json: ") && has(err, bufs[i].want),
           "buffer %zu: %s", i, err);
    }

    min = "{\"version\": \"1\", \"faqs\": [{\"id\": \"repay-how\","
          " \"question\": \"怎么还款\", \"similar\": [\"如何还钱\"],"
          " \"answer\": \"…\"}]}";
    kb = kefu_kb_load_buf(&arena.allocator, (const unsigned char *) min,
                          strlen(min), "min.json", err, sizeof(err));
    ok(kb != NULL, "the minimal KB of the spec loads (%s)", kb ? "" : err);

    probe(&arena);

    kefu_arena_free(&arena);

    return done_testing();
}
