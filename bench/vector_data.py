"""Real MiniLM vectors for bench/vector_search.mjs: base vectors plus held-out queries.

Sentences come from the same plain-text files the tokenizer corpus's ``prose`` category reads
(the repo's Markdown docs and Debian's /usr/share/doc: READMEs, copyright files, changelogs), are
split on sentence ends and blank lines, kept at 4..80 words, de-duplicated, shuffled with a fixed
seed and embedded with the built all-MiniLM-L6-v2 (``Embedder``, fp32 graph in batches of 32:
about 4x the throughput of the int8 one-sentence-per-call default; the vectors are unit length
either way). The first ``--queries`` rows become the queries, the next ``--base`` the base set, so
no query is in the base set.

Writes into ``--out``: base.f32 and queries.f32 (row-major little-endian float32), vectors.json
(shapes, source, variant, timing) and sentences.json (the texts, for inspection).

    .venv/bin/python bench/vector_data.py --out /tmp/vec   # about 2 minutes on 2 cores

Needs the embedder (`python -m build_tools embedder`, part of `make model`).
"""

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from build_tools.embedder_export import Embedder  # noqa: E402
from build_tools.tokenizer_corpus import _prose_files, _readable_text  # noqa: E402

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])|\n\s*\n")
_MIN_WORDS = 4
_MAX_WORDS = 80


def sentences(files: list[Path]) -> Iterator[str]:
    """Whitespace-normalised sentences of the files, in file order, each once."""
    seen: set[str] = set()
    for path in files:
        text = _readable_text(path)
        if not text:
            continue
        for part in _SPLIT.split(text):
            sentence = " ".join(part.split())
            words = sentence.split(" ")
            if not _MIN_WORDS <= len(words) <= _MAX_WORDS:
                continue
            # Mostly letters: skips ASCII art, tables, hashes and bare file lists.
            if sum(c.isalpha() for c in sentence) < 0.6 * len(sentence):
                continue
            key = sentence.lower()
            if key not in seen:
                seen.add(key)
                yield sentence


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the files")
    parser.add_argument("--base", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--variant", default="fp32", help="embedder variant (fp32 or int8)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    need = args.base + args.queries

    files = _prose_files()
    random.Random(args.seed).shuffle(files)
    texts = list(sentences(files))
    if len(texts) < need:
        print(f"only {len(texts)} distinct sentences, need {need}", file=sys.stderr)
        return 1
    random.Random(args.seed + 1).shuffle(texts)
    texts = texts[:need]
    print(f"{len(texts)} sentences from {len(files)} files; embedding ({args.variant})")

    embedder = Embedder(variant=args.variant)
    start = time.perf_counter()
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if done % 2048 < n:
            print(f"  {done}/{need} in {time.perf_counter() - start:.0f} s", flush=True)

    vectors = embedder.embed(texts, progress)
    seconds = time.perf_counter() - start
    norms = np.linalg.norm(vectors, axis=1)
    if not np.all(np.abs(norms - 1) < 1e-3):
        print("embedder returned non-unit vectors", file=sys.stderr)
        return 1

    args.out.mkdir(parents=True, exist_ok=True)
    queries, base = vectors[: args.queries], vectors[args.queries :]
    base.astype("<f4").tofile(args.out / "base.f32")
    queries.astype("<f4").tofile(args.out / "queries.f32")
    (args.out / "sentences.json").write_text(
        json.dumps({"queries": texts[: args.queries], "base": texts[args.queries :]}) + "\n"
    )
    meta = {
        "dim": int(vectors.shape[1]),
        "base": int(base.shape[0]),
        "queries": int(queries.shape[0]),
        "dtype": "float32-le",
        "unit_norm": True,
        "model": embedder.folder.name,
        "variant": embedder.variant,
        "source": "sentences of the repo docs and /usr/share/doc (tokenizer corpus prose files)",
        "seed": args.seed,
        "embed_seconds": round(seconds, 1),
    }
    (args.out / "vectors.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {args.out} ({seconds:.0f} s embedding): {json.dumps(meta)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
