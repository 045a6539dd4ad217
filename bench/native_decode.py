"""Native (CPython, CPU) decode speed of the built Gemma 3 270M, side by side with its peers.

    .venv/bin/python bench/native_decode.py [--runs 5] [--threads 1 2] [--json PATH]

One fixed prompt (the first tokens of build_tools/data/eval_text.txt, bos included) and greedy
decoding of a fixed number of new tokens (no stop token), for:

- ours-exact, ours-int4: `OnnxDecoder` + `generate` on decoder-exact.onnx / decoder-int4.onnx;
- llama.cpp: llama-cpp-python on the GGUF the model is built from (same weights as ours-exact);
- genai-exact: onnxruntime-genai's own generator loop on OUR decoder-exact.onnx, through a
  genai_config.json written into a temporary folder of symlinks.

Each engine runs in its own subprocess (so no thread pool, OpenMP team or allocator is
shared), loads the model once and does one unmeasured warm-up generation; then, at each thread
count, `--runs` rounds give every engine one measured generation in turn (the order rotated each
round), so a burst of outside load on a small machine hits all of them alike, not one of them.

Every engine gets the same token ids. Reported: time to first token (prompt run + first pick),
prefill tok/s (prompt tokens / prompt run) and decode tok/s (tokens after the first / time from
the first to the last). Model loading and per-generation setup (genai's Generator object) are
not timed. A peer whose package is not installed, or that fails, is skipped with the reason
printed. Not a test: results go to docs/benchmarks.md.
"""

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from build_tools.model_folder import ModelFolder, open_model  # noqa: E402

EVAL_TEXT = ROOT / "build_tools" / "data" / "eval_text.txt"
ENGINES = ("ours-exact", "ours-int4", "llama.cpp", "genai-exact")
BASELINE = "ours-exact"
LLAMA_PIN = "llama-cpp-python==0.3.36"
GENAI_PIN = "onnxruntime-genai==0.18.0"


@dataclass(frozen=True)
class Run:
    """One measured generation (seconds; tokens are the greedy output)."""

    ttft_s: float
    prefill_s: float
    decode_s: float
    prompt_tokens: int
    new_tokens: list[int]

    @property
    def prefill_tok_s(self) -> float:
        return self.prompt_tokens / self.prefill_s

    @property
    def decode_tok_s(self) -> float:
        steps = len(self.new_tokens) - 1
        return steps / self.decode_s if steps > 0 and self.decode_s > 0 else 0.0


class EngineUnavailableError(Exception):
    """An engine that cannot run here; the message says why."""


# ---------------------------------------------------------------------------------------------
# The prompt


def prompt_ids(model: ModelFolder, length: int) -> list[int]:
    """bos + the first length-1 tokens of the evaluation text."""
    from tokenizers import Tokenizer

    from build_tools.native_runtime import with_bos

    tokenizer = Tokenizer.from_file(str(model.tokenizer_json))
    ids = with_bos(
        model.config, tokenizer.encode(EVAL_TEXT.read_text(), add_special_tokens=False).ids
    )
    if len(ids) < length:
        raise SystemExit(f"{EVAL_TEXT} has only {len(ids)} tokens; ask for fewer")
    return ids[:length]


# ---------------------------------------------------------------------------------------------
# Engines: each returns a function that runs one generation.

Generation = Callable[[Sequence[int], int], Run]


def _ours(model: ModelFolder, variant: str, threads: int) -> Generation:
    from build_tools.native_runtime import OnnxDecoder, generate

    decoder = OnnxDecoder(model.decoder(variant), intra_op_threads=threads)

    def run(ids: Sequence[int], new: int) -> Run:
        # Greedy (sampling=None); no stop tokens, so every run makes exactly `new` tokens.
        result = generate(decoder, ids, max_new_tokens=new)
        t = result.timings
        assert t.time_to_first_token_s is not None
        return Run(t.time_to_first_token_s, t.prefill_s, t.decode_s, len(ids), [*result.token_ids])

    return run


def _import(module: str, pin: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EngineUnavailableError(
            f"{pin.split('==')[0]} is not installed (pip install {pin}): {exc}"
        ) from exc


def _llama_cpp(model: ModelFolder, threads: int, context: int) -> Generation:
    llama_cpp = _import("llama_cpp", LLAMA_PIN)
    from build_tools.default_model import default_gguf
    from build_tools.errors import BuildError

    try:
        gguf = default_gguf()
    except BuildError as exc:
        raise EngineUnavailableError(f"no source GGUF: {exc}") from exc
    llm = llama_cpp.Llama(
        model_path=str(gguf),
        n_ctx=max(512, context),
        n_batch=512,
        n_ubatch=512,
        n_threads=threads,
        n_threads_batch=threads,
        logits_all=False,
        verbose=False,
    )
    vocab = int(llm.n_vocab())
    if vocab != model.config.vocab_size:
        raise EngineUnavailableError(f"the GGUF's vocabulary ({vocab}) differs from the model's")

    def pick() -> int:
        # Without logits_all, Llama.eval keeps no logits of its own (its samplers read them in
        # C): greedy is argmax over the last position's row, read in place.
        row = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(row, shape=(vocab,))))

    def run(ids: Sequence[int], new: int) -> Run:
        llm.reset()  # n_tokens = 0; eval() then drops the KV cells past it
        began = time.perf_counter()
        llm.eval(list(ids))
        prefill_s = time.perf_counter() - began
        tokens = [pick()]
        first = time.perf_counter()
        while len(tokens) < new:
            llm.eval([tokens[-1]])
            tokens.append(pick())
        end = time.perf_counter()
        return Run(first - began, prefill_s, end - first, len(ids), tokens)

    return run


def genai_config(model: ModelFolder, decoder_file: str, threads: int, context: int) -> Any:
    """onnxruntime-genai's genai_config.json for our decoder graph (its I/O names are genai's)."""
    c = model.config
    return {
        "model": {
            "bos_token_id": c.bos_token_id,
            "context_length": context,
            "decoder": {
                "session_options": {
                    "log_id": "onnxruntime-genai",
                    "provider_options": [],
                    "intra_op_num_threads": threads,
                    "inter_op_num_threads": 1,
                },
                "filename": decoder_file,
                "head_size": c.head_dim,
                "hidden_size": c.hidden_size,
                "inputs": {
                    "input_ids": "input_ids",
                    "attention_mask": "attention_mask",
                    "position_ids": "position_ids",
                    "past_key_names": "past_key_values.%d.key",
                    "past_value_names": "past_key_values.%d.value",
                },
                "outputs": {
                    "logits": "logits",
                    "present_key_names": "present.%d.key",
                    "present_value_names": "present.%d.value",
                },
                "num_attention_heads": c.num_heads,
                "num_hidden_layers": c.num_layers,
                "num_key_value_heads": c.num_kv_heads,
            },
            "eos_token_id": list(model.stop_token_ids),
            "pad_token_id": c.pad_token_id,
            "type": "gemma3_text",
            "vocab_size": c.vocab_size,
        },
        "search": {
            "do_sample": False,
            "max_length": context,
            "min_length": 0,
            "num_beams": 1,
            "num_return_sequences": 1,
            # Our graph concatenates past and new keys (present = past + new), so the cache
            # cannot be a preallocated shared buffer.
            "past_present_share_buffer": False,
            "repetition_penalty": 1.0,
            "temperature": 1.0,
            "top_k": 1,
            "top_p": 1.0,
        },
    }


def _genai(model: ModelFolder, threads: int, workdir: Path) -> Generation:
    og = _import("onnxruntime_genai", GENAI_PIN)
    onnx = model.decoder("exact")
    for source in (onnx, onnx.with_name(onnx.name + ".data")):
        if source.exists():
            (workdir / source.name).symlink_to(source)
    config = genai_config(model, onnx.name, threads, model.config.max_position_embeddings)
    (workdir / "genai_config.json").write_text(json.dumps(config, indent=2))
    try:
        genai_model = og.Model(str(workdir))
    except Exception as exc:  # genai raises its own RuntimeError subclasses
        raise EngineUnavailableError(f"onnxruntime-genai cannot load our decoder: {exc}") from exc

    def run(ids: Sequence[int], new: int) -> Run:
        total = len(ids) + new
        params = og.GeneratorParams(genai_model)
        # min_length = max_length keeps an end-of-sequence token from stopping the run early.
        params.set_search_options(max_length=total, min_length=total, do_sample=False)
        generator = og.Generator(genai_model, params)
        began = time.perf_counter()
        generator.append_tokens(np.asarray([ids], dtype=np.int32))
        prefill_s = time.perf_counter() - began
        generator.generate_next_token()  # picks from the prompt's logits: no model run
        tokens = [int(generator.get_next_tokens()[0])]
        first = time.perf_counter()
        while not generator.is_done():
            generator.generate_next_token()
            tokens.append(int(generator.get_next_tokens()[0]))
        end = time.perf_counter()
        return Run(first - began, prefill_s, end - first, len(ids), tokens)

    return run


def _run_doc(r: Run) -> dict[str, Any]:
    return {**asdict(r), "prefill_tok_s": r.prefill_tok_s, "decode_tok_s": r.decode_tok_s}


def worker(engine: str, threads: int, prompt_len: int, new: int) -> int:
    """Loads one engine at one thread count, warms it up, then answers each "run" line on stdin
    with one generation's numbers (a JSON line on stdout) until stdin closes."""
    # The protocol keeps the real stdout; anything the native libraries print goes to stderr.
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def send(doc: dict[str, Any]) -> None:
        protocol.write(json.dumps(doc) + "\n")

    model = open_model()
    ids = prompt_ids(model, prompt_len)
    with tempfile.TemporaryDirectory(prefix="gea-genai-") as tmp:
        started = time.perf_counter()
        try:
            if engine == "ours-exact":
                run = _ours(model, "exact", threads)
            elif engine == "ours-int4":
                run = _ours(model, "int4", threads)
            elif engine == "llama.cpp":
                run = _llama_cpp(model, threads, prompt_len + new)
            else:
                run = _genai(model, threads, Path(tmp))
        except EngineUnavailableError as exc:
            send({"skipped": str(exc)})
            return 0
        load_s = time.perf_counter() - started
        run(ids, new)  # warm-up: first-run allocations, weight prepacking, page faults
        send({"ready": True, "load_s": load_s})
        for line in sys.stdin:
            if line.strip() != "run":
                break
            send(_run_doc(run(ids, new)))
    return 0


# ---------------------------------------------------------------------------------------------
# The driver: one live subprocess per engine, runs interleaved round-robin, then the table.


class WorkerFailedError(Exception):
    """A worker process died or answered nonsense; the message has its stderr's tail."""


class Worker:
    """One engine in its own interpreter, so no thread pool, OpenMP team or allocator is
    shared; it stays loaded (and idle, blocked on stdin) while the others run."""

    def __init__(self, engine: str, threads: int, args: argparse.Namespace) -> None:
        self.engine = engine
        # Closed in close(): it outlives this method by design.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            *("--worker", engine, "--threads", str(threads)),
            *("--prompt-tokens", str(args.prompt_tokens), "--new-tokens", str(args.new_tokens)),
        ]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True
        )
        self.hello = self._receive()  # {"ready", "load_s"} or {"skipped"}

    def _receive(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        try:
            doc: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError:
            self._process.wait()
            self._stderr.seek(0)
            tail = self._stderr.read().strip().splitlines()[-3:]
            reason = " | ".join(tail) or f"exit status {self._process.returncode}"
            raise WorkerFailedError(reason) from None
        return doc

    def run(self) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write("run\n")
        self._process.stdin.flush()
        return self._receive()

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._stderr.close()


def measure(engines: Sequence[str], threads: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """All engines at one thread count: loaded one after another, then `args.runs` rounds of one
    run each, the order rotated every round, so a burst of outside load hits them alike."""
    results: dict[str, dict[str, Any]] = {
        e: {"engine": e, "threads": threads, "runs": []} for e in engines
    }
    workers: dict[str, Worker] = {}
    try:
        for engine in engines:
            print(f"  loading {engine} @ {threads} thread(s) ...", file=sys.stderr, flush=True)
            try:
                worker = Worker(engine, threads, args)
            except WorkerFailedError as exc:
                results[engine]["skipped"] = f"failed: {exc}"
                continue
            if "skipped" in worker.hello:
                results[engine]["skipped"] = worker.hello["skipped"]
                worker.close()
                continue
            results[engine]["load_s"] = worker.hello["load_s"]
            workers[engine] = worker
        for round_ in range(args.runs):
            live = list(workers)
            shift = round_ % len(live) if live else 0
            for engine in live[shift:] + live[:shift]:
                try:
                    results[engine]["runs"].append(workers[engine].run())
                except WorkerFailedError as exc:
                    results[engine] = {"engine": engine, "threads": threads}
                    results[engine]["skipped"] = f"failed mid-run: {exc}"
                    workers.pop(engine).close()
            print(f"  round {round_ + 1}/{args.runs} done", file=sys.stderr, flush=True)
    finally:
        for worker in workers.values():
            worker.close()
    for engine, result in results.items():
        if "skipped" in result:
            print(f"  skipped {engine} @ {threads}: {result['skipped']}", file=sys.stderr)
            result.pop("runs", None)
    return list(results.values())


def summary(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(result: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    """Adds median/min/max per metric, ratios to the baseline and token agreement, in place."""
    runs = result["runs"]
    result["ttft_ms"] = summary([r["ttft_s"] * 1000 for r in runs])
    result["prefill_tok_s"] = summary([r["prefill_tok_s"] for r in runs])
    result["decode_tok_s"] = summary([r["decode_tok_s"] for r in runs])
    result["new_tokens"] = len(runs[0]["new_tokens"])
    if baseline is None or "runs" not in baseline:
        return
    ours = baseline["runs"][0]["new_tokens"]
    theirs = runs[0]["new_tokens"]
    same = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), None)
    result["same_tokens_as_baseline"] = min(len(ours), len(theirs)) if same is None else same
    # Speed ratios, peer ÷ ours: > 1 means the row is faster than ours-exact.
    result["speed_vs_baseline"] = {
        "ttft": baseline["ttft_ms"]["median"] / result["ttft_ms"]["median"],
        "prefill": result["prefill_tok_s"]["median"] / baseline["prefill_tok_s"]["median"],
        "decode": result["decode_tok_s"]["median"] / baseline["decode_tok_s"]["median"],
    }


def _cell(stats: dict[str, float], digits: int) -> str:
    return f"{stats['median']:.{digits}f} ({stats['min']:.{digits}f}-{stats['max']:.{digits}f})"


def table(results: Sequence[dict[str, Any]]) -> str:
    """A Markdown table: median (min-max), and speed ratios to ours-exact at the same threads."""
    head = (
        "| engine | threads | TTFT ms | prefill tok/s | decode tok/s "
        "| TTFT x | prefill x | decode x | same tokens |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in results:
        if "skipped" in r:
            continue
        ratio = r.get("speed_vs_baseline")
        if r["engine"] == BASELINE:
            ratios = ["1.00x"] * 3
        elif ratio is None:
            ratios = ["-"] * 3
        else:
            ratios = [f"{ratio[k]:.2f}x" for k in ("ttft", "prefill", "decode")]
        same = r.get("same_tokens_as_baseline")
        agree = "-" if same is None else f"{same}/{r['new_tokens']}"
        cells = [
            r["engine"],
            str(r["threads"]),
            _cell(r["ttft_ms"], 1),
            _cell(r["prefill_tok_s"], 0),
            _cell(r["decode_tok_s"], 1),
            *ratios,
            agree,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "python": platform.python_version(),
        "versions": {
            name: _version(name)
            for name in ("onnxruntime", "llama-cpp-python", "onnxruntime-genai", "numpy")
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="measured runs per engine (5)")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="thread counts (1 2)"
    )
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--prompt-tokens", type=int, default=200, help="bos included (200)")
    parser.add_argument("--new-tokens", type=int, default=64, help="greedy, no stop (64)")
    parser.add_argument("--json", type=Path, help="write every raw number here")
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.new_tokens < 2 or args.prompt_tokens < 1:
        parser.error("--runs and --prompt-tokens must be >= 1, --new-tokens >= 2")

    if args.worker is not None:
        return worker(args.worker, args.threads[0], args.prompt_tokens, args.new_tokens)

    env = environment()
    model = open_model()
    env["model"] = {
        "path": str(model.path),
        "variants": {
            name: {key: v.get(key) for key in ("file", "bytes", "fidelity")}
            for name, v in model.doc["variants"].items()
        },
    }
    print(f"CPU: {env['cpu']} ({env['logical_cpus']} logical); versions: {env['versions']}")
    print(
        f"prompt {args.prompt_tokens} tokens, {args.new_tokens} greedy new tokens, "
        f"{args.runs} runs after 1 warm-up\n"
    )
    results: list[dict[str, Any]] = []
    engines = [e for e in ENGINES if e in args.engines]  # the baseline first
    for threads in args.threads:
        baseline: dict[str, Any] | None = None
        for result in measure(engines, threads, args):
            if "skipped" not in result:
                summarize(result, baseline)
                if result["engine"] == BASELINE:
                    baseline = result
            results.append(result)

    print(table(results))
    print(
        "\nTTFT/prefill/decode x: speed / ours-exact's at the same thread count (> 1: faster than"
        " ours). same tokens: greedy tokens equal to ours-exact's before the first difference."
    )
    skipped = {f"{r['engine']}@{r['threads']}": r["skipped"] for r in results if "skipped" in r}
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    if args.json is not None:
        doc = {
            "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            "environment": env,
            "prompt_tokens": args.prompt_tokens,
            "new_tokens": args.new_tokens,
            "runs": args.runs,
            "warmup_runs": 1,
            "results": results,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
