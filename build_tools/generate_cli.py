"""`python -m build_tools generate PROMPT`: native completion with streaming to the terminal."""

import sys
from collections.abc import Sequence

from build_tools.model_folder import open_model
from build_tools.native_runtime import OnnxDecoder, generate, with_bos
from build_tools.sampling import SamplingParams


def _echo(_token: int, text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def generate_text(
    prompt: str,
    *,
    model_id: str | None = None,
    variant: str | None = None,
    max_new_tokens: int = 48,
    temperature: float = 0.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int | None = None,
    stop: Sequence[str] = (),
) -> str:
    from tokenizers import Tokenizer

    model = open_model(model_id)
    tokenizer = Tokenizer.from_file(str(model.tokenizer_json))
    decoder = OnnxDecoder(model.decoder(variant))
    ids = with_bos(model.config, tokenizer.encode(prompt, add_special_tokens=False).ids)
    sys.stdout.write(prompt)
    result = generate(
        decoder,
        ids,
        max_new_tokens=max_new_tokens,
        sampling=SamplingParams(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed),
        stop_token_ids=model.stop_token_ids,
        stop_strings=stop,
        detokenize=lambda t: tokenizer.decode(list(t)),
        on_token=_echo,
    )
    t = result.timings
    print(
        f"\n[{result.finish_reason}; {t.prompt_tokens} prompt tokens at "
        f"{t.prefill_tokens_per_s:.0f} tok/s, {t.generated_tokens} generated at "
        f"{t.decode_tokens_per_s:.1f} tok/s]",
        file=sys.stderr,
    )
    return result.text or ""
