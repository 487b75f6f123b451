#!/usr/bin/env python3
"""Validate a kefu knowledge-base JSON file against the demo KB contract.

Usage: python3 demo/tools/check_kb.py [demo/kb.json] [--min N]
Exit status 0 when valid; prints counts per topic.
"""
import collections
import json
import re
import sys

TOP_KEYS = {"version", "synonyms", "keywords", "welcome", "faqs"}
FAQ_KEYS = {"id", "question", "similar", "answer", "answers", "triggers",
            "actions", "follow_ups", "tags", "risk"}
TONES = {"calm", "soothing", "reassuring"}
ACTIONS = {"loss_report", "police_report", "handoff"}
KW_KEYS = {"human", "emergency", "angry", "anxious"}
ID_RE = re.compile(r"^[a-z0-9-]{1,64}$")


def main():
    args = sys.argv[1:]
    path = "demo/kb.json"
    minimum = 320
    if "--min" in args:
        i = args.index("--min")
        minimum = int(args[i + 1])
        del args[i:i + 2]
    if args:
        path = args[0]
    errs = []

    def err(msg):
        errs.append(msg)

    with open(path, "rb") as fh:
        raw = fh.read()
    kb = json.loads(raw.decode("utf-8"))
    for k in kb:
        if k not in TOP_KEYS:
            err("unknown top-level key %r" % k)
    if not isinstance(kb.get("version"), str) or not kb["version"]:
        err("version missing")

    def nonempty_str(v):
        return isinstance(v, str) and v.strip() != ""

    for g in kb.get("synonyms", []):
        if not isinstance(g, list) or len(g) < 2 or not all(nonempty_str(x) for x in g):
            err("bad synonym group %r" % (g,))
    syn_seen = {}
    for g in kb.get("synonyms", []):
        for x in g if isinstance(g, list) else []:
            if x in syn_seen:
                err("synonym %r in two groups" % x)
            syn_seen[x] = True
    for k, v in kb.get("keywords", {}).items():
        if k not in KW_KEYS:
            err("unknown keywords key %r" % k)
        if not isinstance(v, list) or not v or not all(nonempty_str(x) for x in v):
            err("bad keywords list %r" % k)

    faqs = kb.get("faqs", [])
    ids = [f.get("id") for f in faqs]
    idset = set(ids)
    for i, c in collections.Counter(ids).items():
        if c > 1:
            err("duplicate id %s" % i)
    seen_text = {}
    topics = collections.Counter()
    n_tone = n_trig = n_risk = n_act = n_fu = 0
    events = collections.Counter()
    scenes = collections.Counter()
    for f in faqs:
        fid = f.get("id")
        where = "faq %s" % fid
        for k in f:
            if k not in FAQ_KEYS:
                err("%s: unknown key %r" % (where, k))
        if not isinstance(fid, str) or not ID_RE.match(fid):
            err("%s: bad id" % where)
        if not nonempty_str(f.get("question")):
            err("%s: empty question" % where)
        if not nonempty_str(f.get("answer")):
            err("%s: empty answer" % where)
        sim = f.get("similar", [])
        if not isinstance(sim, list) or len(sim) < 4:
            err("%s: fewer than 4 similar" % where)
        for s in sim:
            if not nonempty_str(s):
                err("%s: empty similar" % where)
        if len(set(sim)) != len(sim):
            err("%s: duplicate similar" % where)
        for t in [f.get("question")] + list(sim):
            key = re.sub(r"[\s?？。,，!！]", "", str(t)).lower()
            if key in seen_text and seen_text[key] != fid:
                err("%s: text %r also in %s" % (where, t, seen_text[key]))
            seen_text[key] = fid
        if "answers" in f:
            a = f["answers"]
            if not isinstance(a, dict) or not a:
                err("%s: bad answers" % where)
            else:
                for k, v in a.items():
                    if k not in TONES:
                        err("%s: unknown tone %r" % (where, k))
                    if not nonempty_str(v):
                        err("%s: empty tone %r" % (where, k))
                n_tone += 1
        if "triggers" in f:
            n_trig += 1
            for t in f["triggers"]:
                keys = set(t)
                if not (keys == {"event", "weight"} or keys == {"scene", "weight"}):
                    err("%s: bad trigger %r" % (where, t))
                    continue
                w = t["weight"]
                if isinstance(w, bool) or not isinstance(w, (int, float)) or w <= 0:
                    err("%s: bad weight %r" % (where, t))
                if "event" in t:
                    events[t["event"]] += 1
                else:
                    scenes[t["scene"]] += 1
        if "actions" in f:
            n_act += 1
            for a in f["actions"]:
                if a not in ACTIONS:
                    err("%s: bad action %r" % (where, a))
        if "follow_ups" in f:
            n_fu += 1
            fus = f["follow_ups"]
            if len(fus) > 3:
                err("%s: more than 3 follow_ups" % where)
            for x in fus:
                if x not in idset:
                    err("%s: follow_up %r does not exist" % (where, x))
                if x == fid:
                    err("%s: follows up itself" % where)
        tags = f.get("tags")
        if not isinstance(tags, list) or not tags or not all(nonempty_str(x) for x in tags):
            err("%s: tags missing" % where)
        else:
            topics[tags[0]] += 1
        if "risk" in f:
            if f["risk"] is not True:
                err("%s: risk must be true when present" % where)
            n_risk += 1
    for w in kb.get("welcome", []):
        if w not in idset:
            err("welcome %r does not exist" % w)
    if len(faqs) < minimum:
        err("only %d faqs (< %d)" % (len(faqs), minimum))

    print("file: %s (%d bytes)" % (path, len(raw)))
    print("faqs: %d  tone variants: %d  with triggers: %d  risk: %d  with actions: %d  with follow_ups: %d"
          % (len(faqs), n_tone, n_trig, n_risk, n_act, n_fu))
    print("similar: %d total" % sum(len(f.get("similar", [])) for f in faqs))
    print("synonym groups: %d  welcome: %d" % (len(kb.get("synonyms", [])), len(kb.get("welcome", []))))
    print("topics:", ", ".join("%s=%d" % kv for kv in sorted(topics.items())))
    print("events:", ", ".join("%s=%d" % kv for kv in sorted(events.items())))
    print("scenes:", ", ".join("%s=%d" % kv for kv in sorted(scenes.items())))
    if errs:
        for e in errs:
            print("ERROR:", e)
        print("INVALID (%d errors)" % len(errs))
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
