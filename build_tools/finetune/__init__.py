"""The default 270M's ReAct fine-tune: synthetic traces, LoRA training, and the merge.

- `traces`: seeded generator of ReAct traces that runs the real tools (standard library +
  py_agent + the built document index), written as the agent's own prompts;
- `lora_train`: LoRA training in JAX on CPU (optional: `requirements-finetune.txt`);
- `adapter`: the adapter file (numpy only), and merging it into the decoder weights — what
  `make model` does, with no training dependency.
"""
