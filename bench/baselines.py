"""Python baselines for `sovereel eval`: implicit's ALS and BPR, and EASE in
closed form, on exactly the split the Rust evaluation wrote (train.tsv and
test.tsv), with the same metrics (Recall@20 = hits / min(20, |test|), NDCG@20).

Like the reference figures in issue 4, each baseline reports its best setting
over a small grid scored on the test split itself, which flatters the
baselines; the engine gets no such tuning in the same run.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import scipy.sparse as sp

K = 20


def load(train_path, test_path):
    tr = np.loadtxt(train_path, dtype=np.int64, skiprows=1, ndmin=2)
    te = np.loadtxt(test_path, dtype=np.int64, skiprows=1, ndmin=2)
    n_users = int(max(tr[:, 0].max(), te[:, 0].max())) + 1
    n_items = int(max(tr[:, 1].max(), te[:, 1].max())) + 1
    x = sp.csr_matrix((np.ones(len(tr), dtype=np.float32), (tr[:, 0], tr[:, 1])), shape=(n_users, n_items))
    x.data[:] = 1.0
    test = [[] for _ in range(n_users)]
    for u, i in te:
        test[u].append(int(i))
    return x, test


def evaluate(scores, x, test):
    """scores: dense (users x items). Train items are excluded."""
    disc = 1.0 / np.log2(np.arange(2, K + 2))
    rec, ndcg = [], []
    for u in range(x.shape[0]):
        if not test[u]:
            continue
        s = np.asarray(scores[u], dtype=np.float64).copy()
        s[x.indices[x.indptr[u]:x.indptr[u + 1]]] = -np.inf
        top = np.argpartition(-s, K)[:K]
        top = top[np.argsort(-s[top], kind="stable")]
        t = set(test[u])
        hits = np.array([1.0 if i in t else 0.0 for i in top])
        ideal = min(K, len(t))
        rec.append(hits.sum() / ideal)
        ndcg.append((hits * disc).sum() / disc[:ideal].sum())
    return float(np.mean(rec)), float(np.mean(ndcg))


def ease(x, lam):
    g = (x.T @ x).toarray().astype(np.float64)
    g[np.diag_indices_from(g)] += lam
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    b[np.diag_indices_from(b)] = 0.0
    return x @ b


def best(name, results):
    r = max(results, key=lambda t: t[1])
    return {"name": name, "recall": r[1], "ndcg": r[2], "params": r[0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    x, test = load(args.train, args.test)
    out = []

    res = []
    for lam in [50.0, 100.0, 250.0, 500.0, 1000.0]:
        r, n = evaluate(ease(x, lam), x, test)
        res.append((f"lambda={lam:g}", r, n))
        print(f"EASE {lam:g}: {r:.4f} {n:.4f}", file=sys.stderr)
    out.append(best("EASE", res))

    import implicit
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking

    res = []
    for factors in [32, 64, 128]:
        for reg in [0.01, 0.1, 1.0]:
            for alpha in [1.0, 10.0]:
                m = AlternatingLeastSquares(factors=factors, regularization=reg, alpha=alpha,
                                            iterations=20, random_state=0)
                m.fit(x, show_progress=False)
                s = np.asarray(m.user_factors) @ np.asarray(m.item_factors).T
                r, n = evaluate(s, x, test)
                res.append((f"factors={factors} reg={reg:g} alpha={alpha:g}", r, n))
                print(f"ALS {res[-1]}", file=sys.stderr)
    out.append(best(f"implicit {implicit.__version__} ALS", res))

    res = []
    for factors in [32, 64, 128]:
        for lr in [0.01, 0.05]:
            m = BayesianPersonalizedRanking(factors=factors, learning_rate=lr, regularization=0.01,
                                            iterations=200, random_state=0)
            m.fit(x, show_progress=False)
            s = np.asarray(m.user_factors) @ np.asarray(m.item_factors).T
            r, n = evaluate(s, x, test)
            res.append((f"factors={factors} lr={lr:g}", r, n))
            print(f"BPR {res[-1]}", file=sys.stderr)
    out.append(best(f"implicit {implicit.__version__} BPR", res))

    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
