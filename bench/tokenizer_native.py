"""Native tokenizer speed: our Rust core (PyO3 `gea_tokenizer`) beside Hugging Face `tokenizers`.

    .venv/bin/python bench/tokenizer_native.py [--runs 5] [--json PATH]

Both load the built Gemma 3 270M's tokenizer (ours: tokenizer.gtok; HF: tokenizer.json) and
encode the same 5 MB corpus (build_tools/tokenizer_corpus.py, `<bos>` added, special-token
text read as control tokens, which is what HF's default does), one text per call on one thread
(HF's batch API would use a thread pool):

- chunked: the corpus cut into ~4 KB pieces (chat-sized; cut at character boundaries);
- whole: the corpus as one 5 MB document.

Before timing, every chunk's ids are checked equal between the two (exit code 1 otherwise).
Each run times both in turn (the order alternated), and a fresh tokenizer is loaded per run so
ours starts with an empty word cache, as in a real page load; median and min-max over runs.
Not a test: results go to docs/benchmarks.md.
"""

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gea_tokenizer import Tokenizer as RustTokenizer  # noqa: E402
from tokenizers import Tokenizer as HFTokenizer  # noqa: E402

from build_tools.model_folder import open_model  # noqa: E402
from build_tools.tokenizer_corpus import corpus_documents  # noqa: E402

CHUNK_BYTES = 4096


def chunks(text: str, size: int = CHUNK_BYTES) -> list[str]:
    data = text.encode()
    out, start = [], 0
    while start < len(data):
        end = min(start + size, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # not inside a character
            end += 1
        out.append(data[start:end].decode())
        start = end
    return out


def timed(f: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    result = f()
    return time.perf_counter() - t, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--corpus-mb", type=float, default=5.0, help="corpus size, MB (5)")
    args = ap.parse_args()

    model = open_model()
    gtok = model.tokenizer_vocab.read_bytes()
    hf_path = str(model.tokenizer_json)
    docs = corpus_documents(int(args.corpus_mb * 1e6), vocab_path=model.tokenizer_json)
    text = "\n\n".join(t for _, t in docs)
    mb = len(text.encode()) / 1e6
    pieces = chunks(text)

    ours, hf = RustTokenizer.from_bytes(gtok), HFTokenizer.from_file(hf_path)
    want = [e.ids for e in hf.encode_batch(pieces)]
    if ours.encode_batch(pieces, allow_special=True) != want:
        print("ids differ between ours and Hugging Face: not benchmarking", file=sys.stderr)
        return 1

    results: dict[str, dict[str, list[float]]] = {
        name: {"load_ms": [], "chunked_mbs": [], "whole_mbs": []} for name in ("ours", "hf")
    }
    loaders: dict[str, Callable[[], Any]] = {
        "ours": lambda: RustTokenizer.from_bytes(gtok),
        "hf": lambda: HFTokenizer.from_file(hf_path),
    }
    encoders: dict[str, Callable[[Any, str], Any]] = {
        "ours": lambda tok, t: tok.encode(t, allow_special=True),
        "hf": lambda tok, t: tok.encode(t),
    }
    for run in range(args.runs):
        order = ["ours", "hf"] if run % 2 == 0 else ["hf", "ours"]
        for name in order:
            load_s, tok = timed(loaders[name])
            encode = encoders[name]
            chunk_s, _ = timed(lambda tok=tok, e=encode: [e(tok, p) for p in pieces])
            whole_s, _ = timed(lambda tok=tok, e=encode: e(tok, text))
            r = results[name]
            r["load_ms"].append(load_s * 1e3)
            r["chunked_mbs"].append(mb / chunk_s)
            r["whole_mbs"].append(mb / whole_s)

    def med(name: str, key: str) -> float:
        return statistics.median(results[name][key])

    print(f"corpus {mb:.2f} MB, {len(pieces)} chunks of ~{CHUNK_BYTES} B, {args.runs} runs")
    print(f"{'':10}{'ours':>28}{'HF tokenizers':>28}{'ours / HF':>12}")
    for key, unit in (("load_ms", "ms"), ("chunked_mbs", "MB/s"), ("whole_mbs", "MB/s")):
        cells = []
        for name in ("ours", "hf"):
            v = results[name][key]
            cells.append(f"{med(name, key):8.2f} {unit} ({min(v):.2f}-{max(v):.2f})")
        ratio = med("ours", key) / med("hf", key)
        print(f"{key:10}{cells[0]:>28}{cells[1]:>28}{ratio:>11.2f}x")
    if args.json:
        doc = {
            "corpus_mb": mb,
            "chunks": len(pieces),
            "runs": args.runs,
            "results": results,
            "machine": platform.platform(),
            "cpu_count": os.cpu_count(),
            "versions": {
                "tokenizers": importlib.metadata.version("tokenizers"),
                "gea_tokenizer": importlib.metadata.version("gea_tokenizer"),
            },
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
