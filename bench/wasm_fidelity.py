"""Top-1 agreement of the Rust WASM decoder with the float32 reference on the evaluation text.

Usage: .venv/bin/python bench/wasm_fidelity.py [--tokens 256] [--int8]
Both are teacher-forced along the same ids (build_tools/data/eval_text.txt after <bos>); the
reference is the fp32 ONNX graph of the GGUF's dequantized weights, run token by token.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from build_tools.default_model import default_gguf  # noqa: E402
from build_tools.fidelity import stepwise_logits  # noqa: E402
from build_tools.gguf_source import load_gguf  # noqa: E402
from build_tools.model_build import eval_ids  # noqa: E402
from build_tools.model_folder import open_model  # noqa: E402
from build_tools.onnx_export import Head, build_graph, save_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--int8", action="store_true", help="int8 activations in the layers")
    args = parser.parse_args()
    model = open_model()
    ids = eval_ids(model.tokenizer_json, model.config.bos_token_id, args.tokens)
    weights_file = model.path / str(model.doc["variants"]["exact"]["wasm_weights"])
    with tempfile.TemporaryDirectory() as tmp:
        ids_file = Path(tmp) / "ids.json"
        ids_file.write_text(json.dumps(ids[:-1]))
        cmd = ["node", str(ROOT / "bench/wasm_fidelity.mjs"), str(weights_file), str(ids_file)]
        out = subprocess.run(
            cmd + (["--int8"] if args.int8 else []), capture_output=True, text=True, check=True
        )
        wasm = json.loads(out.stdout)
        _, weights = load_gguf(default_gguf())
        reference = Path(tmp) / "ref.onnx"
        save_model(build_graph(weights, Head.LOGITS_LAST), reference)
        ref = [int(np.argmax(row)) for row in stepwise_logits(reference, ids[:-1])]
    agree = sum(int(a == b) for a, b in zip(ref, wasm, strict=True))
    mode = "int8 activations" if args.int8 else "f32 activations"
    share = agree / len(ref)
    print(f"WASM decoder ({mode}) vs fp32: top-1 agreement {agree}/{len(ref)} = {share:.1%}")


if __name__ == "__main__":
    main()
