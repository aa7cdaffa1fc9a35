"""Fit faqbot's ranking and confidence (bot/retrieval.py RANKING and CONFIDENCE): two logistic models over the
channels' scores.

    pip install -e '.[distill]'
    python tools/fit_confidence.py [DATASET] [--cache DIR] [--without CHANNEL,...]

Training data, from the public data set's *train* split only: closed book (each entry's question and answer
indexed; its train paraphrases asked; the train off-topic questions asked, every pair wrong), and a with-alternates
protocol made of train alone (half of each entry's train paraphrases indexed as alternates, the other half asked);
and the shipped knowledge base's regression questions (answer and fallback cases, each counting SHIPPED_WEIGHT
benchmark questions). The ranking learns from every (question, shortlisted entry) pair of the closed-book and
shipped sets: is the entry a right answer? The confidence learns from each question's first entry, in all three:
is the question in scope? Validation figures (both protocols) are printed for the record, never used to choose.
With --dev (patient questions, JSON Lines as bench/retrieval.py --test-split reads) and --labels, both models also
learn from the file's tune part (each question DEV_WEIGHT benchmark questions) and its held-out part is measured
("dev_held"); --confidence-only keeps the shipped ranking. Prints the two tables to paste into bot/retrieval.py.
Features are cached in --cache (delete it after a change to bot/retrieval.py's channels).
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATASET = Path("/work/shared/data/quebec_covid_faq.json")
SHIPPED_WEIGHT = 20.0
# Each development question (patients' own words, --dev) counts as many benchmark questions as a regression one.
DEV_WEIGHT = 20.0
C = 1.0
RANKING_WITH_ALTERNATES = False  # rank on closed-book pairs only: train P@1 0.7756 / 0.8139 (with alternates)
# against 0.7744 / 0.8131 when the ranking also learns from the with-alternates train pairs
# The confidence's label: is the question one this knowledge base answers (train OOD-AUROC 0.994), rather than
# "is the first entry right" (0.988)
LABEL_IN_SCOPE = True


def quebec(data: dict, protocol: str):
    from bot.retrieval import Document
    alternates: dict[str, list[str]] = {}
    if protocol == "with_alternates":
        for q in data["queries"]:
            if q["split"] == "train":
                alternates.setdefault(str(q["faq_id"]), []).append(q["text"])
    return [Document(str(f["id"]), (f["question"], *alternates.get(str(f["id"]), ())), f["answer"])
            for f in data["faqs"]]


def collect(index, queries: list[tuple[str, frozenset]]):
    """Return [(entry ids, features, gold ids)] per query (gold empty: off topic)."""
    out = []
    for text, gold in queries:
        scored = index.score(text)
        if scored is None:
            out.append(([], None, gold))
        else:
            out.append(([index.ids[e] for e in scored.entries], scored.features, gold))
    return out


def build(dataset: Path, cache: Path) -> dict:  # noqa: C901
    path = cache / "features.pkl"
    if path.exists():
        splits = pickle.loads(path.read_bytes())
        splits.pop("shipped", None)
        splits.pop("dev", None)
        return splits
    from bot.retrieval import Document, Index
    data = json.loads(dataset.read_text(encoding="utf-8"))
    splits = {}
    inscope = {s: [(q["text"], frozenset(str(i) for i in q["faq_ids"])) for q in data["queries"] if q["split"] == s]
               for s in ("train", "validation")}
    ood = {s: [(q["text"], frozenset()) for q in data["ood_queries"] if q["split"] == s]
           for s in ("train", "validation")}
    # Train with alternates, from the train split alone: half of each entry's train paraphrases indexed as its
    # alternates, the other half asked.
    train = [q for q in data["queries"] if q["split"] == "train"]
    held, asked = train[0::2], train[1::2]
    alternates: dict[str, list[str]] = {}
    for q in held:
        alternates.setdefault(str(q["faq_id"]), []).append(q["text"])
    index = Index([Document(str(f["id"]), (f["question"], *alternates.get(str(f["id"]), ())), f["answer"])
                   for f in data["faqs"]])
    splits["train_alternates"] = collect(index, [(q["text"], frozenset(str(i) for i in q["faq_ids"]))
                                                 for q in asked] + ood["train"])
    print("  train with alternates: built and scored", file=sys.stderr, flush=True)
    for protocol in ("closed_book", "with_alternates"):
        index = Index(quebec(data, protocol))
        if protocol == "closed_book":
            splits["train"] = collect(index, inscope["train"] + ood["train"])
        splits[f"validation_{protocol}"] = collect(index, inscope["validation"] + ood["validation"])
        print(f"  {protocol}: built and scored", file=sys.stderr, flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(splits))
    return splits


def shipped(splits: dict, dev: Path | None, labels: Path | None) -> None:
    """Add the shipped knowledge base's splits (built fresh: they follow every edit of knowledge/): its regression
    questions ("shipped") and, given a development file of patient questions with labels, that file's tune part
    ("dev": bench/retrieval.py's held_out() keeps the other part out) and its held-out part ("dev_held", measured
    only). An in-scope question's gold entries are its quote's labelled passage's; a quote no passage matches is
    left out (its gold is not known)."""
    from bot.engine import documents
    from bot.knowledge import load_knowledge
    from bot.retrieval import Index
    knowledge = load_knowledge(ROOT / "knowledge")
    index = Index(documents(knowledge), knowledge.synonyms)
    cases = [(c.message, frozenset({c.entry}) if c.type == "answer" else frozenset())
             for c in knowledge.regression if c.type in ("answer", "fallback")]
    splits["shipped"] = collect(index, cases)
    if dev is None:
        return
    sys.path.insert(0, str(ROOT / "bench"))
    from retrieval import held_out, labelled_entries, read_labels, read_test_split
    passages = read_labels(labels) if labels else []
    parts: dict[str, list] = {"dev": [], "dev_held": []}
    for case in read_test_split(dev):
        gold = frozenset(labelled_entries(case["quote"], passages) or ()) if case["kind"] == "in_scope" else frozenset()
        if case["kind"] == "in_scope" and not gold:
            continue
        parts["dev_held" if held_out(case) else "dev"].append((case["text"], gold))
    for name, part in parts.items():
        splits[name] = collect(index, part)


def pairs(split, columns):
    from bot.retrieval import ranking_inputs
    xs, ys = [], []
    for ids, features, gold in split:
        if len(ids):
            xs.append(ranking_inputs(features)[:, columns])
            ys.append(np.asarray([i in gold for i in ids], dtype=float))
    return np.vstack(xs), np.concatenate(ys)


def _weights(splits, n_train, n_shipped):
    """Sample weights: each pair of the shipped knowledge base counts SHIPPED_WEIGHT benchmark pairs."""
    return np.concatenate([np.ones(n_train), np.full(n_shipped, SHIPPED_WEIGHT)])


def fit_ranking(splits, columns):
    from sklearn.linear_model import LogisticRegression
    x1, y1 = pairs(splits["train"], columns)
    x3, y3 = pairs(splits["train_alternates"], columns) if RANKING_WITH_ALTERNATES else (x1[:0], y1[:0])
    x2, y2 = pairs(splits["shipped"], columns)
    x4, y4 = pairs(splits["dev"], columns) if "dev" in splits else (x2[:0], y2[:0])
    model = LogisticRegression(C=C, max_iter=3000)
    model.fit(np.vstack([x1, x3, x2, x4]), np.concatenate([y1, y3, y2, y4]),
              sample_weight=np.concatenate([_weights(splits, len(y1) + len(y3), len(y2)),
                                            np.full(len(y4), DEV_WEIGHT)]))
    return model.coef_[0], float(model.intercept_[0])


def tops(split, ranking):
    """Per question: (confidence inputs of every shortlisted entry, their ids, gold ids)."""
    from bot.retrieval import confidence_inputs, ranking_inputs
    out = []
    for ids, features, gold in split:
        if len(ids):
            logits = ranking_inputs(features) @ ranking[:-1] + ranking[-1]
            out.append((confidence_inputs(logits, features), logits, ids, gold))
        else:
            out.append((None, None, ids, gold))
    return out


def fit_confidence(splits, ranking):
    from sklearn.linear_model import LogisticRegression
    xs, ys, weights = [], [], []
    for name, weight in (("train", 1.0), ("train_alternates", 1.0), ("shipped", SHIPPED_WEIGHT),
                         ("dev", DEV_WEIGHT)):
        if name not in splits:
            continue
        for inputs, logits, ids, gold in tops(splits[name], ranking):
            if inputs is not None:
                best = int(np.argmax(logits))
                xs.append(inputs[best])
                ys.append(bool(gold) if LABEL_IN_SCOPE else ids[best] in gold)
                weights.append(weight)
    model = LogisticRegression(C=C, max_iter=5000)
    model.fit(np.asarray(xs), np.asarray(ys), sample_weight=np.asarray(weights))
    return tuple(model.coef_[0]) + (float(model.intercept_[0]),)


def measure(split, ranking, confidence):
    """P@1 (entries ordered by confidence, as search() does) and OOD-AUROC of the first entry's confidence."""
    from sklearn.metrics import roc_auc_score
    right, scores, labels = 0, [], []
    weights = np.asarray(confidence)
    for inputs, logits, ids, gold in tops(split, ranking):
        top = 0.0
        if inputs is not None:
            best = int(np.argmax(logits))
            top = float(1 / (1 + np.exp(-(inputs[best] @ weights[:-1] + weights[-1]))))
            right += bool(gold) and ids[best] in gold
        scores.append(top)
        labels.append(bool(gold))
    return right / sum(labels), roc_auc_score(labels, scores)


def main(argv=None) -> int:
    global DEV_WEIGHT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / "results" / "calibration")
    parser.add_argument("--without", default="", help="comma-separated channels (FEATURES) to leave out, to "
                                                      "measure what each brings (prints figures only)")
    parser.add_argument("--check", action="store_true",
                        help="measure bot/retrieval.py's own tables (RANKING, CONFIDENCE) instead of fitting")
    parser.add_argument("--dev", type=Path, help="patient questions of the shipped knowledge base (JSON Lines, as "
                                                 "bench/retrieval.py --test-split reads) to learn from: its tune part")
    parser.add_argument("--labels", type=Path, help="labels.yaml for --dev: which entries answer each passage")
    parser.add_argument("--confidence-only", action="store_true",
                        help="keep bot/retrieval.py's RANKING (its P@1 everywhere) and refit the confidence alone")
    parser.add_argument("--dev-weight", type=float, default=DEV_WEIGHT,
                        help=f"benchmark questions each --dev question counts as (default {DEV_WEIGHT:g})")
    args = parser.parse_args(argv)
    from bot.retrieval import CONFIDENCE, RANKING, RANKING_INPUTS
    DEV_WEIGHT = args.dev_weight
    splits = build(args.dataset, args.cache)
    shipped(splits, args.dev, args.labels)
    if args.check:
        for name in RANKING:
            figures = [f"{split} {p1:.4f}/{auc:.4f}" for split in splits
                       for p1, auc in [measure(splits[split], np.asarray(RANKING[name]), CONFIDENCE[name])]]
            print(f"{name} (as shipped): " + "; ".join(figures), file=sys.stderr)
            break  # the shipped index's kind; the others are measured when refitting
        return 0
    left_out = {name for name in args.without.split(",") if name}
    everything = [i for i, name in enumerate(RANKING_INPUTS) if name.removeprefix("log_") not in left_out]
    semantic = [i for i, name in enumerate(RANKING_INPUTS) if "semantic" in name]
    classifier = [i for i, name in enumerate(RANKING_INPUTS) if "classifier" in name]
    variants = {
        "with_classifier": everything,
        "lexical_only": [i for i in everything if i not in semantic],
        "without_classifier": [i for i in everything if i not in classifier],
        "without_either": [i for i in everything if i not in semantic + classifier],
    }
    rankings, confidences = {}, {}
    for name, columns in variants.items():
        if args.confidence_only:
            ranking = np.asarray(RANKING[name], dtype=float)
        else:
            coef, bias = fit_ranking(splits, columns)
            ranking = np.zeros(len(RANKING_INPUTS) + 1)
            ranking[columns] = coef
            ranking[-1] = bias
        confidence = fit_confidence(splits, ranking)
        rankings[name] = tuple(round(float(v), 3) for v in ranking)
        confidences[name] = tuple(round(float(v), 3) for v in confidence)
        figures = []
        for split in ("train", "train_alternates", "validation_closed_book", "validation_with_alternates", "shipped",
                      "dev", "dev_held"):
            if split not in splits:
                continue
            p1, auc = measure(splits[split], np.asarray(rankings[name]), confidences[name])
            figures.append(f"{split} {p1:.4f}/{auc:.4f}")
        print(f"{name}: " + "; ".join(figures), file=sys.stderr)
    for title, table in (("RANKING", rankings), ("CONFIDENCE", confidences)):
        print(f"{title} = {{")
        for name, values in table.items():
            numbers = [str(v) for v in values]
            rows = [", ".join(numbers[i:i + 12]) for i in range(0, len(numbers), 12)]
            print(f'    "{name}": (' + ",\n        ".join(rows) + "),")
        print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
