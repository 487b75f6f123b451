#!/usr/bin/env python3
"""Generate demo/kb.json from the hand-written sources in demo/tools/kb_src/.

Usage: python3 demo/tools/gen_kb.py [--out demo/kb.json]
All content was written for this project (fictional app 小蚁钱包 / 蚁借 / 蚁花).
"""
import importlib
import json
import os
import re
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from kb_src import common  # noqa: E402
from kb_src.meta import VERSION, SYNONYMS, KEYWORDS, WELCOME  # noqa: E402

TOPIC_MODULES = [
    "account", "security", "fraud", "loss", "transfer", "payment", "refund",
    "bill", "repayment", "loan", "paylater", "card", "balance", "withdraw", "coupon",
    "member", "invoice", "merchant", "privacy", "app", "service", "limit",
    "identity",
]


_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’]")


def zh_punct(text):
    """Use full-width punctuation in Chinese prose (sources are typed with ASCII)."""
    out = []
    for i, ch in enumerate(text):
        prev = text[i - 1] if i else ""
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if ch == "," and not (prev.isdigit() and nxt.isdigit()):
            ch = "，"
        elif ch == ";":
            ch = "；"
        elif ch == ":" and not (prev.isdigit() and nxt.isdigit()):
            ch = "："
        elif ch == "(":
            ch = "（"
        elif ch == ")":
            ch = "）"
        elif ch == "!" and (_CJK.match(prev or " ") or not nxt):
            ch = "！"
        elif ch == "?":
            ch = "？"
        out.append(ch)
    return "".join(out)


def normalise(f):
    f["question"] = zh_punct(f["question"])
    f["similar"] = [zh_punct(x) for x in f["similar"]]
    f["answer"] = zh_punct(f["answer"])
    if "answers" in f:
        f["answers"] = {k: zh_punct(v) for k, v in f["answers"].items()}


def load():
    for name in TOPIC_MODULES:
        try:
            importlib.import_module("kb_src." + name)
        except ModuleNotFoundError as e:
            if e.name != "kb_src." + name:
                raise
    return common.FAQS


def dump(kb):
    """2-space indented JSON, one key per line inside each FAQ, short arrays inline."""
    def j(v):
        return json.dumps(v, ensure_ascii=False)

    out = ["{"]
    out.append('  "version": %s,' % j(kb["version"]))
    out.append('  "synonyms": [')
    out.append(",\n".join("    " + j(g) for g in kb["synonyms"]))
    out.append("  ],")
    out.append('  "keywords": {')
    out.append(",\n".join("    %s: %s" % (j(k), j(v)) for k, v in kb["keywords"].items()))
    out.append("  },")
    out.append('  "welcome": %s,' % j(kb["welcome"]))
    out.append('  "faqs": [')
    recs = []
    for f in kb["faqs"]:
        lines = ["    {"]
        items = list(f.items())
        for i, (k, v) in enumerate(items):
            comma = "," if i < len(items) - 1 else ""
            if k == "answers":
                sub = list(v.items())
                lines.append('      "answers": {')
                for n, (ak, av) in enumerate(sub):
                    c2 = "," if n < len(sub) - 1 else ""
                    lines.append("        %s: %s%s" % (j(ak), j(av), c2))
                lines.append("      }" + comma)
            else:
                lines.append("      %s: %s%s" % (j(k), j(v), comma))
        lines.append("    }")
        recs.append("\n".join(lines))
    out.append(",\n".join(recs))
    out.append("  ]")
    out.append("}")
    return "\n".join(out) + "\n"


def main():
    out = os.path.join(HERE, "..", "kb.json")
    if len(sys.argv) == 3 and sys.argv[1] == "--out":
        out = sys.argv[2]
    faqs = load()
    for f in faqs:
        normalise(f)
    ids = {f["id"] for f in faqs}
    welcome = [w for w in WELCOME if w in ids]
    bad = False
    for f in faqs:
        if "follow_ups" in f:
            missing = [x for x in f["follow_ups"] if x not in ids]
            if missing:
                print("error: %s: missing follow_ups %s" % (f["id"], missing), file=sys.stderr)
                bad = True
            f["follow_ups"] = [x for x in f["follow_ups"] if x in ids]
            if not f["follow_ups"]:
                del f["follow_ups"]
    missing_w = [w for w in WELCOME if w not in ids]
    if missing_w:
        print("error: welcome ids missing %s" % missing_w, file=sys.stderr)
        bad = True
    if bad:
        sys.exit(1)
    kb = {"version": VERSION, "synonyms": SYNONYMS, "keywords": KEYWORDS,
          "welcome": welcome, "faqs": faqs}
    text = dump(kb)
    json.loads(text)  # sanity
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, out)
    print("wrote %s: %d faqs" % (os.path.normpath(out), len(faqs)))


if __name__ == "__main__":
    main()
