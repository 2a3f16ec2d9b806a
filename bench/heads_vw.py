"""Vowpal Wabbit on the engine's own head examples, for `sovereel eval`.

The engine writes every example its objective heads learned from, in order:
whether it was a sampled negative, the five labels (`-` where the event said
nothing about that objective) and the features after the bias. For each head
this trains one VW logistic regression on exactly those examples, in the same
order, predicting each observed example before learning from it (progressive
validation), and reports log loss and AUC over the observed (not sampled)
examples, computed as the Rust side computes them.
"""
import argparse
import json
import math
import sys

from vowpalwabbit import Workspace

HEADS = ["completion", "like", "share", "follow", "skip"]
VW_ARGS = "--loss_function logistic --link logistic -b 18 --quiet"
CLIP = 1e-7


def log_loss(pairs):
    s = 0.0
    for p, y in pairs:
        p = min(max(p, CLIP), 1.0 - CLIP)
        s += -math.log(p) if y else -math.log(1.0 - p)
    return s / max(len(pairs), 1)


def auc(pairs):
    pos = sum(1 for _, y in pairs if y)
    neg = len(pairs) - pos
    if pos == 0 or neg == 0:
        return None
    v = sorted(pairs, key=lambda t: t[0])
    rank_sum, i = 0.0, 0
    while i < len(v):
        j = i
        while j < len(v) and v[j][0] == v[i][0]:
            j += 1
        avg = (i + 1 + j) / 2.0
        rank_sum += avg * sum(1 for _, y in v[i:j] if y)
        i = j
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.examples) as f:
        header = f.readline().rstrip("\n").split("\t")
        n_feat = len(header) - 1 - len(HEADS)
        rows = [line.rstrip("\n").split("\t") for line in f]
    names = header[1 + len(HEADS):]
    out = []
    for h, head in enumerate(HEADS):
        vw = Workspace(VW_ARGS)
        pairs = []
        for r in rows:
            label = r[1 + h]
            if label == "-":
                continue
            y = label == "1"
            feats = " ".join(f"{n}:{x}" for n, x in zip(names, r[1 + len(HEADS):]) if float(x) != 0.0)
            ex = f"{1 if y else -1} |f {feats}"
            if r[0] == "0":
                pairs.append((vw.predict(ex), y))
            vw.learn(ex)
        vw.finish()
        out.append({
            "head": head,
            "examples": len(pairs),
            "positives": sum(1 for _, y in pairs if y),
            "log_loss": log_loss(pairs),
            "auc": auc(pairs),
        })
        print(f"VW {head}: {out[-1]}", file=sys.stderr)
    with open(args.out, "w") as f:
        json.dump({"args": VW_ARGS, "features": n_feat, "heads": out}, f, indent=1)


if __name__ == "__main__":
    main()
