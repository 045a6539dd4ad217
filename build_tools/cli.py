"""`python -m build_tools ...`: the commands behind the Makefile."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from build_tools.errors import BuildError


def _cmd_build(args: argparse.Namespace) -> None:
    from build_tools.wasm_build import build_wasm
    from build_tools.web_assets import write_web_assets

    out = build_wasm()
    print(f"wasm modules: {out}")
    for path in write_web_assets():
        print(f"web asset: {path}")


def _cmd_agent(args: argparse.Namespace) -> None:
    from build_tools.agent_cli import main as agent_main

    raise SystemExit(agent_main(args.agent_args))


def _cmd_native(args: argparse.Namespace) -> None:
    from build_tools.native_ext import ensure_native_extensions

    for module, built in ensure_native_extensions(force=args.force).items():
        print(f"{module}: " + ("built and installed" if built else "up to date"))


def _cmd_serve(args: argparse.Namespace) -> None:
    from build_tools.serve import make_server, url_of
    from build_tools.site import resolve

    for required in (
        "/index.html",
        "/build/app.json",
        "/build/precache.json",
        "/build/wasm/gemma.js",
    ):
        if resolve(required) is None:
            raise BuildError(f"{required} is not built: run `make build` first")
    server = make_server(args.host, args.port, quiet=args.quiet)
    print(f"Gemma Edge Agent is served at {url_of(server)}  (Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()


def _cmd_model(args: argparse.Namespace) -> None:
    from build_tools.model_build import build_model, model_is_built
    from build_tools.paths import MODELS_CACHE

    out_root = Path(args.out_dir) if args.out_dir else MODELS_CACHE
    if args.if_missing and args.source == "default":
        from build_tools.default_model import MODEL_ID

        if model_is_built(out_root / (args.model_id or MODEL_ID)):
            print(f"model {args.model_id or MODEL_ID} is built and matches its manifest")
            return
    build_model(
        args.source,
        out_root=out_root,
        model_id=args.model_id,
        variants=args.variants or None,
        evaluate=not args.no_eval,
        eval_tokens=args.eval_tokens,
        adapter=Path(args.adapter) if args.adapter else None,
    )


def _cmd_generate(args: argparse.Namespace) -> None:
    from build_tools.generate_cli import generate_text

    generate_text(
        args.prompt,
        model_id=args.model_id,
        variant=args.variant,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        stop=args.stop,
    )


def _cmd_clippy_wasm(args: argparse.Namespace) -> None:
    from build_tools.wasm_build import clippy_wasm

    clippy_wasm()


def _cmd_doctor(args: argparse.Namespace) -> None:
    import subprocess

    from build_tools.toolchain import APT_PROVIDERS, require_tool

    for tool in APT_PROVIDERS:
        path = require_tool(tool)
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        print(f"{tool}: {path}  {lines[-1] if lines else '(no version)'}")


def _cmd_tokenizer_corpus(args: argparse.Namespace) -> None:
    import time

    from build_tools.tokenizer_corpus import category_bytes, corpus_documents, write_corpus_jsonl

    start = time.perf_counter()
    docs = corpus_documents(
        min_bytes=args.min_bytes,
        seed=args.seed,
        vocab_path=Path(args.tokenizer_json) if args.tokenizer_json else None,
    )
    out = Path(args.out)
    write_corpus_jsonl(out, docs)
    sizes = category_bytes(docs)
    counts = {category: 0 for category in sizes}
    for category, _ in docs:
        counts[category] += 1
    per_category = " ".join(f"{c}={n}" for c, n in counts.items())
    print(
        f"{out}: {len(docs)} documents, {sum(sizes.values()) / 1e6:.2f} MB in "
        f"{time.perf_counter() - start:.1f} s ({per_category})"
    )


def _cmd_embedder(args: argparse.Namespace) -> None:
    from build_tools.embedder_export import EMBEDDER_ID, build_embedder, embedder_is_built
    from build_tools.paths import MODELS_CACHE

    out_root = Path(args.out_dir) if args.out_dir else MODELS_CACHE
    if args.if_missing and embedder_is_built(out_root / EMBEDDER_ID):
        print(f"embedder {EMBEDDER_ID} is built and matches its manifest")
        return
    build_embedder(out_root)


def _cmd_index(args: argparse.Namespace) -> None:
    from build_tools.corpus_index import build_index, corpus_from_paths
    from build_tools.paths import MODELS_CACHE

    sources = corpus_from_paths([Path(p) for p in args.corpus]) if args.corpus else None
    build_index(
        sources,
        out_root=Path(args.out_dir) if args.out_dir else MODELS_CACHE,
        variant=args.variant,
        target_words=args.target_words,
        overlap_words=args.overlap_words,
        force=args.force,
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m build_tools", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    agent = sub.add_parser("agent", help="ask the agent natively (same as python -m py_agent)")
    agent.add_argument(
        "agent_args", nargs=argparse.REMAINDER, help="python -m py_agent's arguments"
    )
    agent.set_defaults(func=_cmd_agent)
    native = sub.add_parser(
        "native", help="build and install the native Python extensions (tokenizer, vector index)"
    )
    native.add_argument("--force", action="store_true", help="rebuild even when up to date")
    native.set_defaults(func=_cmd_native)
    sub.add_parser("build", help="build the wasm modules and web assets").set_defaults(
        func=_cmd_build
    )
    serve = sub.add_parser("serve", help="serve the app on loopback")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--quiet", action="store_true", help="no request log")
    serve.set_defaults(func=_cmd_serve)
    model = sub.add_parser("model", help="build a Gemma into models_cache/ (ONNX + tokenizer)")
    model.add_argument(
        "--adapter",
        help="a LoRA adapter folder to merge as the `agent` variant (default: the committed "
        "ReAct adapter, for the default model)",
    )
    model.add_argument(
        "source", nargs="?", default="default", help="default | GGUF file | HF folder"
    )
    model.add_argument("--model-id", help="folder name under models_cache/")
    model.add_argument("--variants", nargs="+", help="variants to build (default: exact int4)")
    model.add_argument("--no-eval", action="store_true", help="skip the fidelity evaluation")
    model.add_argument("--eval-tokens", type=int, default=256)
    model.add_argument("--out-dir", help="where model folders go (default: models_cache/)")
    model.add_argument("--if-missing", action="store_true", help="skip when already built")
    model.set_defaults(func=_cmd_model)
    gen = sub.add_parser("generate", help="complete a prompt natively (onnxruntime, CPU)")
    gen.add_argument("prompt")
    gen.add_argument("--model-id", default=None)
    gen.add_argument("--variant", default=None)
    gen.add_argument("--max-new-tokens", type=int, default=48)
    gen.add_argument("--temperature", type=float, default=0.0)
    gen.add_argument("--top-k", type=int, default=0)
    gen.add_argument("--top-p", type=float, default=1.0)
    gen.add_argument("--seed", type=int, default=None)
    gen.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    gen.set_defaults(func=_cmd_generate)
    sub.add_parser("clippy-wasm", help="lint the Rust crates for wasm32").set_defaults(
        func=_cmd_clippy_wasm
    )
    sub.add_parser("doctor", help="check that the external tools are installed").set_defaults(
        func=_cmd_doctor
    )
    corpus = sub.add_parser(
        "tokenizer-corpus", help="write the tokenizer test corpus (jsonl, deterministic)"
    )
    corpus.add_argument("--out", required=True, help="the .jsonl file to write")
    corpus.add_argument("--min-bytes", type=int, default=5_000_000, help="UTF-8 size at least")
    corpus.add_argument("--seed", type=int, default=0)
    corpus.add_argument(
        "--tokenizer-json", help="vocabulary source (default: the default model's tokenizer.json)"
    )
    corpus.set_defaults(func=_cmd_tokenizer_corpus)
    emb = sub.add_parser(
        "embedder", help="export all-MiniLM-L6-v2 to ONNX (fp32 + int8) into models_cache/"
    )
    emb.add_argument("--out-dir", help="where the folder goes (default: models_cache/)")
    emb.add_argument("--if-missing", action="store_true", help="skip when already built")
    emb.set_defaults(func=_cmd_embedder)
    index = sub.add_parser(
        "index", help="chunk, embed and index a corpus into models_cache/corpus-index/"
    )
    index.add_argument(
        "--corpus",
        nargs="+",
        help="files or folders (txt, md, html); default: the project docs + Debian Reference",
    )
    index.add_argument("--out-dir", help="where the folder goes (default: models_cache/)")
    index.add_argument("--variant", help="embedder variant (default: the embedder's default)")
    index.add_argument("--target-words", type=int, default=100, help="words per passage")
    index.add_argument("--overlap-words", type=int, default=25, help="words shared with the last")
    index.add_argument("--force", action="store_true", help="rebuild even when up to date")
    index.set_defaults(func=_cmd_index)
    from build_tools.edge_build import register_cli as register_edge

    register_edge(sub)
    from build_tools.finetune.cli import register_cli as register_finetune

    register_finetune(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
