"""bench/retrieval.py's test-split judge: which entries a quoted passage takes, and the fixed held-out part."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_retrieval", ROOT / "bench" / "retrieval.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def labels(bench, tmp_path_factory):
    path = tmp_path_factory.mktemp("labels") / "labels.yaml"
    path.write_text("- passage: The cells stay in the body\n  entries: [short]\n"
                    "- passage: The cells stay in the body and attack cancer\n  entries: [long, other]\n",
                    encoding="utf-8")
    return bench.read_labels(path)


@pytest.mark.parametrize("quote, expected", [
    ("The cells stay in the body and attack cancer for months.", ("long", "other")),  # the longest one held
    ("They said the  CELLS stay\nin the BODY, for now", ("short",)),  # whitespace collapsed, case folded
    ("stay in the body and attack", ("long", "other")),  # a quote inside a passage takes it
    ("Nothing like any passage", None),
])
def test_a_quote_takes_the_longest_matching_passage(bench, labels, quote, expected):
    assert bench.labelled_entries(quote, labels) == expected


def test_labels_without_entries_are_refused_by_item(bench, tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("- passage: Some words\n  entries: []\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="item 1"):
        bench.read_labels(path)


def test_the_held_out_part_is_fixed_by_passage(bench):
    cases = [json.loads(line) for line in
             (ROOT / "tests" / "data" / "retrieval" / "dev-blind-1.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    by_quote: dict[str, set] = {}
    for case in cases:
        if case["kind"] == "in_scope":
            by_quote.setdefault(" ".join(case["quote"].split()).casefold(), set()).add(bench.held_out(case))
    assert all(len(parts) == 1 for parts in by_quote.values())  # one passage's questions never straddle the split
    held = sum(bench.held_out(c) for c in cases) / len(cases)
    assert 0.2 < held < 0.45
