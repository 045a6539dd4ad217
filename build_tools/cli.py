"""`python -m build_tools ...`: the commands behind the Makefile."""

import argparse
import sys
from collections.abc import Sequence

from build_tools.errors import BuildError


def _cmd_build(args: argparse.Namespace) -> None:
    from build_tools.wasm_build import build_wasm
    from build_tools.web_assets import write_pyscript_config

    out = build_wasm()
    print(f"wasm modules: {out}")
    print(f"PyScript config: {write_pyscript_config()}")


def _cmd_serve(args: argparse.Namespace) -> None:
    from build_tools.serve import make_server, url_of
    from build_tools.site import resolve

    for required in ("/index.html", "/build/pyscript.json", "/build/wasm/vector.js"):
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


def _cmd_clippy_wasm(args: argparse.Namespace) -> None:
    from build_tools.wasm_build import clippy_wasm

    clippy_wasm()


def _cmd_doctor(args: argparse.Namespace) -> None:
    from build_tools.toolchain import APT_PROVIDERS, require_tool

    for tool in APT_PROVIDERS:
        print(f"{tool}: {require_tool(tool)}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m build_tools", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the wasm modules and web assets").set_defaults(
        func=_cmd_build
    )
    serve = sub.add_parser("serve", help="serve the app on loopback")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--quiet", action="store_true", help="no request log")
    serve.set_defaults(func=_cmd_serve)
    sub.add_parser("clippy-wasm", help="lint the Rust crates for wasm32").set_defaults(
        func=_cmd_clippy_wasm
    )
    sub.add_parser("doctor", help="check that the external tools are installed").set_defaults(
        func=_cmd_doctor
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
