"""Python baselines for `sovereel eval`: implicit's ALS and BPR, and EASE in
closed form, on exactly the split the Rust evaluation wrote (train.tsv and
test.tsv), with the same metrics (Recall@20 = hits / min(20, |test|), NDCG@20).

Each baseline's grid point is chosen on the validation slice the Rust side cut
from train by the same split rule (valid_train.tsv, valid_test.tsv); the chosen
setting is then refit on all of train and scored once on test. Nothing is
tuned on the test split.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import scipy.sparse as sp

K = 20


def read(path):
    a = np.loadtxt(path, dtype=np.float64, skiprows=1, ndmin=2, usecols=(0, 1))
    return a.reshape(-1, 2).astype(np.int64)


def load(train_path, test_path, n_users, n_items):
    tr, te = read(train_path), read(test_path)
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


def grid(name, points, fit, data):
    """Chooses the point with the best validation Recall@20, refits it on train, scores test."""
    (vx, vtest), (x, test) = data
    res = []
    for label, params in points:
        r, n = evaluate(fit(vx, **params), vx, vtest)
        res.append((label, params, r, n))
        print(f"{name} {label}: validation {r:.4f} {n:.4f}", file=sys.stderr)
    label, params, vr, vn = max(res, key=lambda t: t[2])
    r, n = evaluate(fit(x, **params), x, test)
    print(f"{name} chosen {label}: test {r:.4f} {n:.4f}", file=sys.stderr)
    return {"name": name, "recall": r, "ndcg": n,
            "params": f"{label} (validation Recall@20 {vr:.4f})"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--valid-train", required=True)
    ap.add_argument("--valid-test", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    files = [args.train, args.test, args.valid_train, args.valid_test]
    ids = np.concatenate([read(f) for f in files])
    n_users, n_items = int(ids[:, 0].max()) + 1, int(ids[:, 1].max()) + 1
    data = (load(args.valid_train, args.valid_test, n_users, n_items),
            load(args.train, args.test, n_users, n_items))
    out = []

    out.append(grid("EASE", [(f"lambda={lam:g}", {"lam": lam}) for lam in [50.0, 100.0, 250.0, 500.0, 1000.0]],
                    ease, data))

    import implicit
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking

    def als(x, factors, reg, alpha):
        m = AlternatingLeastSquares(factors=factors, regularization=reg, alpha=alpha,
                                    iterations=20, random_state=0)
        m.fit(x, show_progress=False)
        return np.asarray(m.user_factors) @ np.asarray(m.item_factors).T

    points = [(f"factors={f} reg={r:g} alpha={a:g}", {"factors": f, "reg": r, "alpha": a})
              for f in [32, 64, 128] for r in [0.01, 0.1, 1.0] for a in [1.0, 10.0]]
    out.append(grid(f"implicit {implicit.__version__} ALS", points, als, data))

    def bpr(x, factors, lr):
        m = BayesianPersonalizedRanking(factors=factors, learning_rate=lr, regularization=0.01,
                                        iterations=200, random_state=0)
        m.fit(x, show_progress=False)
        return np.asarray(m.user_factors) @ np.asarray(m.item_factors).T

    points = [(f"factors={f} lr={lr:g}", {"factors": f, "lr": lr}) for f in [32, 64, 128] for lr in [0.01, 0.05]]
    out.append(grid(f"implicit {implicit.__version__} BPR", points, bpr, data))

    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
