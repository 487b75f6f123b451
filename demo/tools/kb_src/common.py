"""Helpers for writing FAQ records compactly.

F(id, question, similar, answer, tags=..., trig=..., fu=..., soo=..., rea=..., act=..., risk=...)

trig entries are short strings: "e:<event>:<weight>" or "s:<scene>:<weight>".
"""

FAQS = []


def F(fid, question, similar, answer, *, tags, trig=(), fu=(), soo=None,
      rea=None, act=(), risk=False):
    rec = {"id": fid, "question": question, "similar": list(similar),
           "answer": answer}
    answers = {}
    if soo:
        answers["soothing"] = soo
    if rea:
        answers["reassuring"] = rea
    if answers:
        rec["answers"] = answers
    triggers = []
    for t in trig:
        kind, name, w = t.split(":")
        key = {"e": "event", "s": "scene"}[kind]
        w = float(w)
        triggers.append({key: name, "weight": int(w) if w.is_integer() else w})
    if triggers:
        rec["triggers"] = triggers
    if act:
        rec["actions"] = list(act)
    if fu:
        rec["follow_ups"] = list(fu)
    if isinstance(tags, str):
        tags = [tags]
    rec["tags"] = list(tags)
    if risk:
        rec["risk"] = True
    FAQS.append(rec)
    return rec
