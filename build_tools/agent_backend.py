"""The agent's native language model: the built Gemma decoder (onnxruntime, CPU) and the Rust
tokenizer, behind py_agent's `LanguageModel` protocol.

Prompt spans are encoded with the Rust tokenizer — control spans with special-token parsing,
every other span without — and the decoder's KV cache is reused across calls for the longest
common prefix of token ids, so a ReAct step only runs the tokens that are new.
"""

from collections.abc import Callable, Sequence

from gea_tokenizer import Tokenizer

from build_tools.model_folder import ModelFolder, open_model
from build_tools.native_runtime import OnnxDecoder, generate
from build_tools.sampling import SamplingParams
from py_agent.backends.stepwise import reusable_prefix
from py_agent.llm import Completion, FinishReason, Span, TokenConstraint
from py_agent.react_format import prompt_format_of

# The 270M model's 32k positions are far more than a CPU wants to attend to per step.
DEFAULT_WINDOW = 8192
_REASONS: dict[str, FinishReason] = {
    "stop_string": "stop",
    "eos": "eos",
    "length": "length",
    "cancelled": "cancelled",
}


class NativeModel:
    def __init__(
        self,
        model: ModelFolder | None = None,
        *,
        variant: str | None = None,
        sampling: SamplingParams | None = None,
        threads: int = 0,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        self.folder = model or open_model()
        self.tokenizer = Tokenizer.from_bytes(self.folder.tokenizer_vocab.read_bytes())
        config = self.folder.config
        self._window = min(window, config.max_position_embeddings or window)
        self.decoder = OnnxDecoder(
            self.folder.decoder(variant), intra_op_threads=threads, max_context=self._window
        )
        self.sampling = sampling
        self.vocab_size = self.decoder.vocab_size
        self.prompt_format = prompt_format_of(self.folder.doc, variant)
        self._bos = config.bos_token_id
        self._variant = variant or str(self.folder.doc["default_variant"])
        self._texts: dict[int, str] = {}
        self.prefill_tokens = 0  # tokens actually run through the prompt (after cache reuse)

    @property
    def name(self) -> str:
        return f"{self.folder.path.name} (onnxruntime CPU, {self._variant})"

    @property
    def context_window(self) -> int:
        return self._window

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_bos=False)

    def token_text(self, token_id: int) -> str:
        text = self._texts.get(token_id)
        if text is None:
            text = self._texts[token_id] = self.tokenizer.decode([token_id])
        return text

    def prompt_ids(self, prompt: Sequence[Span]) -> list[int]:
        ids = [self._bos]
        for span in prompt:
            ids += self.tokenizer.encode(span.text, add_bos=False, allow_special=span.control)
        return ids

    def complete(
        self,
        prompt: Sequence[Span],
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        constraint: TokenConstraint | None = None,
        on_text: Callable[[str], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> Completion:
        ids = self.prompt_ids(prompt)
        common = reusable_prefix(self.decoder.tokens, ids)
        if common:
            self.decoder.truncate(common)
        else:
            self.decoder.reset()
        self.prefill_tokens += len(ids) - common
        result = generate(
            self.decoder,
            ids[common:],
            max_new_tokens=max_tokens,
            sampling=self.sampling,
            stop_token_ids=self.folder.stop_token_ids,
            stop_strings=stop,
            detokenize=lambda t: self.tokenizer.decode(list(t)),
            constraint=constraint,
            on_token=(lambda _t, delta: on_text(delta) if delta else None) if on_text else None,
            cancel=cancel,
            append=common > 0,
        )
        return Completion(result.text or "", _REASONS[result.finish_reason], len(result.token_ids))
