"""How the reward and DPO jobs batch and cut long pairs (issue 23): batches of like length that still cover every
pair once an epoch in a seeded order, and DPO pairs cut from the prompt's oldest end, never dropped."""

import random

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")


def _batches(lengths, batch, seed=0, epochs=1):
    from training.bt_trainers import LikeLengthBatches

    generator = torch.Generator()
    generator.manual_seed(seed)
    sampler = LikeLengthBatches(lengths, batch, generator)
    out = []
    for _ in range(epochs):
        order = list(sampler)
        out.append([order[i:i + batch] for i in range(0, len(order), batch)])
    return out


def test_batches_of_like_length_cover_every_pair_once_an_epoch_longest_first():
    rng = random.Random(3)
    lengths = [rng.choice([rng.randint(20, 80), rng.randint(300, 900)]) for _ in range(203)]  # short turns, transcripts
    first, second = _batches(lengths, 8, epochs=2)
    for epoch in (first, second):
        assert sorted(i for b in epoch for i in b) == list(range(203))
        assert [len(b) for b in epoch] == [8] * 25 + [3]  # whole batches, the short one last
        assert max(lengths[i] for i in epoch[0]) == max(lengths)
    padded = sum(len(b) * max(lengths[i] for i in b) for b in first)
    shuffled = list(range(203))
    rng.shuffle(shuffled)
    padded_shuffled = sum(len(shuffled[i:i + 8]) * max(lengths[j] for j in shuffled[i:i + 8]) for i in range(0, 203, 8))
    assert padded < 1.1 * sum(lengths) < padded_shuffled
    assert first != second  # a new order each epoch
    assert _batches(lengths, 8, epochs=2) == [first, second] and _batches(lengths, 8, seed=1)[0] != first


def test_a_dpo_pair_is_cut_from_the_prompts_oldest_end_and_never_dropped():
    from training.dpo import fit_pair

    bos = 101
    prompt, chosen, rejected = [bos, *range(1, 50)], list(range(200, 210)), list(range(300, 320))
    assert fit_pair(prompt, chosen, rejected, 100, bos) == (prompt, chosen, rejected, None)
    cut = fit_pair(prompt, chosen, rejected, 40, bos)  # room for the BOS, the newest 19 prompt tokens, the answers
    assert cut == ([bos, *range(31, 50)], chosen, rejected, "prompt") and len(cut[0]) + len(rejected) == 40
    assert fit_pair(prompt, chosen, rejected, 21, bos) == ([bos], chosen, rejected, "prompt")
    # the longer answer alone does not fit: both answers are cut at their end, the BOS stays
    assert fit_pair(prompt, chosen, rejected, 16, bos) == ([bos], chosen, rejected[:15], "answer")
    assert fit_pair(list(range(1, 50)), chosen, rejected, 40, bos)[0] == list(range(30, 50))  # no BOS to keep
