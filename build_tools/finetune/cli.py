"""`python -m build_tools finetune {data,train}`: the traces, then the LoRA adapter.

    python -m build_tools finetune data --count 5000 --seed 15
    .venv-finetune/bin/python -m build_tools finetune train --minutes 60

`train` needs JAX: `python -m build_tools finetune env` installs requirements-finetune.txt into
.venv-finetune, which sees .venv's packages; nothing else in the project imports it.
"""

import argparse
import hashlib
import json
import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from build_tools.errors import BuildError
from build_tools.paths import MODELS_CACHE, ROOT

if TYPE_CHECKING:
    from build_tools.finetune.traces import Trace

ADAPTERS = ROOT / "build_tools" / "data" / "adapters"
DEFAULT_ADAPTER = ADAPTERS / "gemma-3-270m-agent"
DEFAULT_TRACES = MODELS_CACHE / "finetune" / "traces.jsonl"
SEED = 15
DOC_QUESTIONS = 600
EVAL_SET = ROOT / "bench" / "agent" / "eval.json"
EVAL_OVERLAP = ROOT / "bench" / "agent" / "overlap.py"


FINETUNE_VENV = ROOT / ".venv-finetune"
REQUIREMENTS = ROOT / "requirements-finetune.txt"


def _cmd_env(args: argparse.Namespace) -> None:
    """.venv-finetune: a venv that sees this interpreter's packages (a .pth file) and adds the
    pinned training framework; re-made when requirements-finetune.txt changes."""
    import subprocess
    import sys
    import sysconfig

    venv = Path(args.venv)
    stamp = venv / ".requirements-sha256"
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text() == want:
        print(f"{venv} is up to date")
        return
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    site = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "gea-base.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(want)
    print(f"{venv}: {REQUIREMENTS.name} installed")


def _cmd_data(args: argparse.Namespace) -> None:
    from build_tools.docs_search import open_docs_search
    from build_tools.finetune import doc_questions, traces
    from py_agent.tools.builtin import builtin_tools

    search = open_docs_search()
    tools = builtin_tools(search)
    run = traces.check_tool(tools, "search_docs").run
    t0 = time.monotonic()
    qa = doc_questions.doc_qa(search.passages, run, args.seed, DOC_QUESTIONS)
    # A few more than asked for, so that the count holds after decontamination.
    made = list(traces.generate(tools, args.count + args.count // 50 + 10, args.seed, qa))
    clean = decontaminate(made)
    kept = clean[: args.count]
    n = traces.write_jsonl(iter(kept), Path(args.out))
    print(
        f"{n} traces ({len(qa)} document questions; {len(made) - len(clean)} of {len(made)} "
        f"dropped as overlapping the evaluation set) -> {args.out} "
        f"in {time.monotonic() - t0:.0f} s"
    )


def decontaminate(made: "list[Trace]") -> "list[Trace]":
    """The traces minus any that the evaluation set's contamination check flags (by text or by
    numbers) in a turn the model sees (earlier turns, the question, the answer): the
    evaluation set is read only for this."""
    import importlib.util
    import sys

    # bench/ is not a package (its scripts run from the tree): load the checker by path.
    spec = importlib.util.spec_from_file_location("eval_overlap", EVAL_OVERLAP)
    if spec is None or spec.loader is None:
        raise BuildError(f"cannot load {EVAL_OVERLAP}")
    overlap = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = overlap  # its dataclasses look their module up
    spec.loader.exec_module(overlap)
    tasks = json.loads(EVAL_SET.read_text())
    texts = {
        str(i): "\n".join(
            f"{q} {a}".replace("\n", " ")
            for q, a in [*((h.question, h.answer) for h in t.history), (t.question, t.answer)]
        )
        for i, t in enumerate(made)
    }
    flagged = {int(o.source) for o in overlap.find_overlaps(tasks, texts)}
    return [t for i, t in enumerate(made) if i not in flagged]


def _cmd_train(args: argparse.Namespace) -> None:
    try:
        import jax
    except ImportError as exc:
        raise BuildError(
            "training needs JAX: `.venv/bin/python -m build_tools finetune env`, then run this "
            "with .venv-finetune/bin/python"
        ) from exc
    from tokenizers import Tokenizer

    from build_tools.finetune import lora_train, traces
    from build_tools.finetune.adapter import LoraConfig
    from build_tools.model_build import load_source, resolve_source

    data = Path(args.data)
    if not data.is_file():
        raise BuildError(f"{data} not found: run `python -m build_tools finetune data` first")
    records = traces.read_jsonl(data)
    if args.limit:
        records = records[: args.limit]
    src = resolve_source(args.source)
    config, weights, _ = load_source(src)
    tok = Tokenizer.from_file(str(MODELS_CACHE / src.model_id / "tokenizer.json"))

    def encode(text: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = tok.encode(text, add_special_tokens=False)
        return list(enc.ids), [tuple(o) for o in enc.offsets]  # type: ignore[misc]

    examples = lora_train.to_examples(records, encode, config.bos_token_id, args.max_length)
    lora = LoraConfig(args.rank, args.alpha, tuple(args.targets.split(",")))
    print(f"{len(examples)} examples of {len(records)} traces (<= {args.max_length} tokens)")
    result = lora_train.train(
        weights,
        examples,
        lora,
        steps=args.steps,
        lr=args.lr,
        seed=args.seed,
        pad_id=config.pad_token_id,
        max_seconds=args.minutes * 60 if args.minutes else None,
    )
    data_sha = hashlib.sha256(data.read_bytes()).hexdigest()
    meta: dict[str, Any] = {
        "base_model": src.model_id,
        "base_sha256": hashlib.sha256(src.path.read_bytes()).hexdigest(),
        "prompt_format": "tuned",
        "data": {"generator_seed": args.data_seed, "traces": len(records), "sha256": data_sha},
        "training": {
            "steps": result.steps,
            "planned_steps": args.steps,
            "lr": args.lr,
            "seed": args.seed,
            "max_length": args.max_length,
            "traces_seen": result.examples_seen,
            "tokens_seen": result.tokens_seen,
            "seconds": round(result.seconds),
            "first_loss": round(sum(result.losses[:10]) / max(1, len(result.losses[:10])), 4),
            "last_loss": round(sum(result.losses[-10:]) / max(1, len(result.losses[-10:])), 4),
            "machine": f"{platform.machine()}, {_cores()} cores",
            "framework": f"jax {jax.__version__}",
        },
    }
    result.adapter.meta.update(meta)
    digest = result.adapter.save(Path(args.out))
    (Path(args.out) / "losses.json").write_text(json.dumps([round(x, 4) for x in result.losses]))
    print(
        f"adapter -> {args.out} (sha256 {digest[:12]}…), "
        f"{result.steps} steps in {result.seconds:.0f} s"
    )


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


def register_cli(sub: Any) -> None:
    ft = sub.add_parser("finetune", help="the default 270M's ReAct fine-tune (traces, LoRA)")
    fsub = ft.add_subparsers(dest="finetune_command", required=True)
    env = fsub.add_parser("env", help="make .venv-finetune (JAX, from requirements-finetune.txt)")
    env.add_argument("--venv", default=str(FINETUNE_VENV))
    env.set_defaults(func=_cmd_env)
    data = fsub.add_parser("data", help="generate synthetic ReAct traces (real tools)")
    data.add_argument("--count", type=int, default=5000)
    data.add_argument("--seed", type=int, default=SEED)
    data.add_argument("--out", default=str(DEFAULT_TRACES))
    data.set_defaults(func=_cmd_data)
    train = fsub.add_parser("train", help="LoRA-train the model on the traces (needs JAX)")
    train.add_argument("--data", default=str(DEFAULT_TRACES))
    train.add_argument("--data-seed", type=int, default=SEED, help="recorded in the config")
    train.add_argument("--source", default="default")
    train.add_argument("--out", default=str(DEFAULT_ADAPTER))
    train.add_argument("--steps", type=int, default=400)
    train.add_argument("--minutes", type=float, default=0, help="stop after this long (0: no)")
    train.add_argument("--lr", type=float, default=4e-4)
    train.add_argument("--rank", type=int, default=8)
    train.add_argument("--alpha", type=float, default=16.0)
    train.add_argument("--targets", default="q,v,o,gate,up,down")
    train.add_argument("--max-length", type=int, default=640)
    train.add_argument("--limit", type=int, default=0, help="first N traces only")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(func=_cmd_train)
