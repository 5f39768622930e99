"""Real `transformers` generation with the processors (opt-in: torch is a multi-GB install).

Runs when WMARK_TEST_TRANSFORMERS=1 and torch and transformers import:

    target/py-venv/bin/pip install torch transformers
    WMARK_TEST_TRANSFORMERS=1 scripts/test-python -k transformers

The model is a small GPT-2 with random weights built from a config (nothing is downloaded):
what is tested is the processor inside `generate`, not the model's prose.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import wmark
from conftest import fixed_key

if os.environ.get("WMARK_TEST_TRANSFORMERS") != "1":
    pytest.skip("opt-in: set WMARK_TEST_TRANSFORMERS=1 (needs torch and transformers)", allow_module_level=True)

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def tiny_model(vocab: int):
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=vocab, n_positions=256, n_layer=2, n_head=2, n_embd=64)
    return transformers.GPT2LMHeadModel(cfg).eval()


def test_transformers_generate_is_watermarked_and_detected() -> None:
    vocab = 1000
    model = tiny_model(vocab)
    key = fixed_key(1)
    config = wmark.Config("lefthash", gamma=0.25, delta=4.0, vocab_size=vocab)
    processor = wmark.WatermarkLogitsProcessor(config, key)
    prompt = torch.tensor([[1, 2, 3], [4, 5, 6]])
    torch.manual_seed(1)
    out = model.generate(
        prompt,
        logits_processor=transformers.LogitsProcessorList([processor]),
        do_sample=True,
        max_new_tokens=120,
        min_new_tokens=120,
        pad_token_id=0,
    )
    detector = wmark.Detector(config, key)
    for row in out:
        r = detector.detect(ids=row[3:].numpy(), prompt=row[:3].numpy())
        assert r.verdict == "watermarked", r
    # The same model without the processor is not watermarked.
    torch.manual_seed(1)
    plain = model.generate(prompt, do_sample=True, max_new_tokens=120, min_new_tokens=120, pad_token_id=0)
    for row in plain:
        assert detector.detect(ids=row[3:], prompt=row[:3]).verdict != "watermarked"


def test_torch_tensors_in_place_and_converted() -> None:
    config = wmark.Config("minhash:2", delta=2.0, vocab_size=500)
    processor = wmark.WatermarkLogitsProcessor(config, fixed_key(2))
    ids = torch.randint(0, 500, (3, 5))
    scores = torch.randn(3, 500)
    reference = processor(ids.numpy(), scores.numpy().copy())
    s = scores.clone()
    ptr = s.data_ptr()
    out = processor(ids, s)
    assert out is s and s.data_ptr() == ptr  # in place, the same memory
    np.testing.assert_array_equal(s.numpy(), reference)
    for dtype in (torch.float16, torch.bfloat16, torch.float64):
        s = scores.to(dtype)
        before = s.clone()
        out = processor(ids, s)
        assert out is s and out.dtype == dtype
        changed = (s != before).numpy()
        np.testing.assert_array_equal(changed, reference != scores.numpy())
    # vLLM's per-request shape with a 1-D tensor
    request = processor.for_request()
    row = scores[0].clone()
    request(ids[0].tolist(), row)
    np.testing.assert_array_equal(row.numpy(), reference[0])


@pytest.mark.parametrize("scheme", ["gumbel:4", "vllm-gumbel:4", "vllm-dual-key-gumbel:4"])
def test_transformers_generate_with_the_gumbel_sampler_is_detected(scheme: str) -> None:
    vocab = 1000
    model = tiny_model(vocab)
    config = wmark.Config(scheme, vocab_size=vocab)
    key = wmark.Key.from_vllm(12345) if config.key_kind == "vllm" else fixed_key(1)
    other = wmark.Key.from_vllm(54321) if config.key_kind == "vllm" else fixed_key(2)
    processor = wmark.GumbelLogitsProcessor(wmark.GumbelSampler(config, key))
    prompt = torch.tensor([[1, 2, 3], [4, 5, 6]])
    torch.manual_seed(1)
    # The sampler has no top-k: neither has generate (its default is 50), for the positions
    # the sampler leaves to it.
    out = model.generate(
        prompt,
        logits_processor=transformers.LogitsProcessorList([processor]),
        do_sample=True,
        top_k=0,
        max_new_tokens=120,
        min_new_tokens=120,
        pad_token_id=0,
    )
    assert [s.start for s in processor.states] == [3, 3]  # one generation, from the prompt's end
    detector = wmark.Detector(config, key, dedup="window")
    for row in out:
        r = detector.detect(ids=row[3:].numpy(), prompt=row[:3].numpy())
        assert r.verdict == "watermarked" and r.log10_p < -6, r
        wrong = wmark.Detector(config, other, dedup="window").detect(ids=row[3:].numpy(), prompt=row[:3].numpy())
        assert wrong.verdict != "watermarked", wrong
    # The same model without the processor is not watermarked.
    torch.manual_seed(1)
    plain = model.generate(prompt, do_sample=True, top_k=0, max_new_tokens=120, min_new_tokens=120, pad_token_id=0)
    for row in plain:
        assert detector.detect(ids=row[3:].numpy(), prompt=row[:3].numpy()).verdict != "watermarked"


def test_gumbel_processor_on_torch_tensors() -> None:
    sampler = wmark.GumbelSampler(wmark.Config("gumbel:2", vocab_size=500), fixed_key(3))
    ids = torch.randint(0, 500, (3, 5))
    scores = torch.randn(3, 500)
    reference = wmark.GumbelLogitsProcessor(sampler)(ids.numpy(), scores.numpy().copy())
    s = scores.clone()
    ptr = s.data_ptr()
    out = wmark.GumbelLogitsProcessor(sampler)(ids, s)
    assert out is s and s.data_ptr() == ptr  # in place, the same memory
    np.testing.assert_array_equal(s.numpy(), reference)
    for dtype in (torch.float16, torch.bfloat16, torch.float64):
        s = scores.to(dtype)
        # chosen on the float32 values of this dtype's logits
        want = wmark.GumbelLogitsProcessor(sampler)(ids.numpy(), s.to(torch.float32).numpy().copy())
        out = wmark.GumbelLogitsProcessor(sampler)(ids, s)
        assert out is s and out.dtype == dtype
        finite = torch.isfinite(s.to(torch.float32)).numpy()
        assert finite.sum(axis=1).tolist() == [1, 1, 1]
        np.testing.assert_array_equal(finite, np.isfinite(want))


def test_readme_transformers_block() -> None:
    from test_readme import run_blocks

    assert run_blocks(include_optional=True) >= 2
