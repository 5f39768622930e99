"""The detector: reports with the same content as `wmark detect --json` and
`wmark radioactive --json` on random inputs, batches, several keys, text and ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List

import numpy as np
import pytest

import wmark
from conftest import Cli, fixed_key


def generate(config: wmark.Config, key: wmark.Key, n: int, seed: int, prompt: List[int]) -> List[int]:
    """Sampled ids from random logits with the watermark applied at every step."""
    rng = np.random.default_rng(seed)
    proc = wmark.Processor(config, key)
    ids = list(prompt)
    for _ in range(n):
        logits = rng.normal(scale=2.0, size=config.vocab_size).astype(np.float32)
        proc.apply_row(ids, logits)
        ids.append(int(np.argmax(logits + rng.gumbel(size=config.vocab_size))))
    return ids[len(prompt):]


def cli_reports(out: str) -> List[dict]:
    reports = [json.loads(line) for line in out.splitlines() if line.strip()]
    for r in reports:
        r.pop("source")
    return reports


WORDS = (
    "the of and to a in that is was he for it with as his on be at by had not are but from or have an they which "
    "one you were her all she there would their we him been has when who will more no if out so said what up its "
    "about into than them can only other new some could time these two may then do first any my now such like our "
    "over man me even most made after also did many before must through back years where much your way well down"
).split()


def human_text(seed: int, n: int) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), size=n)) + ".\n"


@pytest.mark.parametrize("scheme,dedup", [("lefthash", "tuple"), ("minhash:3", "window"), ("selfhash:3", "none")])
def test_ids_reports_equal_the_cli(cli: Cli, scheme: str, dedup: str) -> None:
    config = wmark.Config(scheme, gamma=0.25, delta=4.0, vocab_size=3000)
    key = fixed_key(10)
    docs = [
        generate(config, key, 60, seed=1, prompt=[1, 2, 3]),  # watermarked
        np.random.default_rng(2).integers(0, 3000, size=80).tolist(),  # not
        [5, 6],  # too short: insufficient
        generate(config, key, 30, seed=3, prompt=[9, 9, 9]) + [7, 7, 7, 7] * 10,  # repeats
    ]
    path = cli.write_lines("docs.jsonl", docs)
    k = cli.key_file(key)
    for windows in (False, True):
        args = ["detect", "--key", str(k), *cli.scheme_args(config), "--ids", "--dedup", dedup, "--json", str(path)]
        out = cli.run(args + (["--windows"] if windows else []), ok_codes=(0, 1))
        detector = wmark.Detector(config, key, dedup=dedup, windows=windows)
        ours = [detector.detect(ids=d) for d in docs]
        assert [r.to_dict() for r in ours] == cli_reports(out)
        assert [json.loads(r.to_json()) for r in ours] == cli_reports(out)
        assert [r.to_dict() for r in detector.detect_batch(ids=docs)] == cli_reports(out)
    verdicts = [r.verdict for r in ours]
    assert verdicts[0] == "watermarked" and verdicts[1] == "not_watermarked" and verdicts[2] == "insufficient"


def test_report_attributes_match_its_dict() -> None:
    config = wmark.Config("lefthash", vocab_size=3000, delta=4.0)
    key = fixed_key(11)
    r = wmark.Detector(config, key, windows=True, token_flags=True).detect(ids=generate(config, key, 50, 5, [1]))
    d = r.to_dict()
    for name, value in d.items():
        assert getattr(r, name) == value, name
    assert r.verdict == "watermarked" and r.log10_p < -6 and len(r.token_flags) == 50
    assert r == wmark.Detector(config, key, windows=True, token_flags=True).detect(ids=generate(config, key, 50, 5, [1]))
    assert "watermarked" in repr(r)


def test_text_reports_equal_the_cli(cli: Cli, llama3_tokenizer: Path) -> None:
    config = wmark.Config("lefthash", gamma=0.25, delta=2.0, vocab_size=128_256)
    key = fixed_key(12)
    texts = [
        human_text(1, 300),
        human_text(2, 40).replace("the", "th\u200be").replace("a", "\u0430"),  # zero-width, homoglyph
        "Short.",
    ]
    files = []
    for i, t in enumerate(texts):
        p = cli.workdir / f"t{i}.txt"
        p.write_text(t, encoding="utf-8")
        files.append(str(p))
    k = cli.key_file(key)
    args = ["detect", "--key", str(k), "--tokenizer", str(llama3_tokenizer), "--scheme", "lefthash", "--json", "--windows"]
    out = cli.run(args + files, ok_codes=(0, 1))
    detector = wmark.Detector(config, key, tokenizer=llama3_tokenizer, windows=True)
    assert detector.tokenizer_vocab_size == 128_256
    ours = [detector.detect(t).to_dict() for t in texts]
    assert ours == cli_reports(out)
    assert ours[1]["normalized"] is True
    assert [r.to_dict() for r in detector.detect_batch(texts, threads=2)] == ours


def test_several_keys_equal_the_cli(cli: Cli) -> None:
    config = wmark.Config("lefthash", vocab_size=2000, delta=4.0)
    keys = [fixed_key(20 + i) for i in range(3)]
    keydir = cli.workdir / "keys"
    keydir.mkdir()
    for i, k in enumerate(keys):
        k.save(keydir / f"account{i}.key")
    doc = generate(config, keys[1], 80, seed=4, prompt=[3])
    path = cli.write_lines("d.jsonl", [doc])
    out = cli.run(["detect", "--keys", str(keydir), *cli.scheme_args(config), "--ids", "--json", str(path)])
    r = wmark.Detector(config, keys, windows=False).detect(ids=doc)
    assert [r.to_dict()] == cli_reports(out)
    assert r.key_id == keys[1].id and len(r.keys) == 3


def test_prompt_is_context_not_scored() -> None:
    config = wmark.Config("lefthash", vocab_size=2000)
    d = wmark.Detector(config, fixed_key(30))
    with_prompt = d.detect(ids=[4, 5, 6], prompt=[1, 2])
    assert with_prompt.tokens == 3 and with_prompt.scored == 3
    assert d.detect(ids=[4, 5, 6]).scored == 2


def test_detect_batch_threads_and_errors() -> None:
    config = wmark.Config("lefthash", vocab_size=2000)
    d = wmark.Detector(config, fixed_key(31))
    docs = [np.random.default_rng(i).integers(0, 2000, size=100) for i in range(20)]
    one = [r.to_dict() for r in d.detect_batch(ids=docs, threads=1)]
    two = [r.to_dict() for r in d.detect_batch(ids=docs, threads=2)]
    assert one == two == [d.detect(ids=x).to_dict() for x in docs]
    with pytest.raises(wmark.VocabMismatchError, match="document 1"):
        d.detect_batch(ids=[[1, 2], [1, 5000]])


def test_radioactive_equals_the_cli(cli: Cli) -> None:
    config = wmark.Config("lefthash", vocab_size=2000, delta=3.0)
    key = fixed_key(40)
    prompts = [np.random.default_rng(100 + i).integers(0, 2000, size=20).tolist() for i in range(5)]
    # A "student" that learnt part of the watermark: half its answers are watermarked.
    answers = [generate(config, key, 40, seed=200 + i, prompt=p) if i % 2 == 0 else
               np.random.default_rng(300 + i).integers(0, 2000, size=40).tolist() for i, p in enumerate(prompts)]
    teacher = [generate(config, key, 40, seed=400 + i, prompt=[i]) for i in range(5)]
    k = cli.key_file(key)
    a = cli.write_lines("answers.jsonl", [{"text": x} for x in answers])
    p = cli.write_lines("prompts.jsonl", [{"text": x} for x in prompts])
    t = cli.write_lines("teacher.jsonl", [{"text": x} for x in teacher])
    detector = wmark.Detector(config, key)
    base = ["radioactive", "--key", str(k), *cli.scheme_args(config), "--ids", "--json", "--answers", str(a)]

    out = json.loads(cli.run(base + ["--prompts", str(p)], ok_codes=(0, 1)))
    ours = detector.radioactive(answers, prompts=prompts)
    assert ours.to_dict() == out
    assert ours.verdict == out["verdict"] and ours.scored == out["scored"] and ours.checkpoints == out["checkpoints"]

    out = json.loads(cli.run(base + ["--prompts", str(p), "--filter", str(t), "--dedup", "none"], ok_codes=(0, 1)))
    assert detector.radioactive(answers, prompts=prompts, teacher=teacher, dedup="none").to_dict() == out
    with pytest.raises(wmark.InputError):
        detector.radioactive(["text needs a tokenizer"])


def stream(detector: wmark.Detector, answers, prompts=(), teacher=None, **kw) -> wmark.RadioactivityReport:
    """The streaming test fed one document at a time."""
    test = wmark.Radioactivity(detector, teacher_filter=teacher is not None, **kw)
    for p in prompts:
        test.add_prompt(p)
    for t in teacher or ():
        test.add_teacher(t)
    units = test.units
    for a in answers:
        test.add_answer(a)
    assert test.units > units and test.memory_bytes > 0 and not test.finished
    return test.finish()


def test_streaming_radioactivity_equals_the_batch_and_the_cli(cli: Cli) -> None:
    config = wmark.Config("minhash:2", vocab_size=2000, delta=3.0)
    keys = [fixed_key(50), fixed_key(51)]
    prompts = [np.random.default_rng(500 + i).integers(0, 2000, size=20).tolist() for i in range(4)]
    answers = [generate(config, keys[1], 40, seed=600 + i, prompt=p) if i % 2 else
               np.random.default_rng(700 + i).integers(0, 2000, size=40) for i, p in enumerate(prompts)]
    teacher = [generate(config, keys[1], 40, seed=800 + i, prompt=[i, i]) for i in range(4)]
    keydir = cli.workdir / "keys"
    keydir.mkdir()
    for i, k in enumerate(keys):
        k.save(keydir / f"account{i}.key")
    a = cli.write_lines("answers.jsonl", [{"text": np.asarray(x).tolist()} for x in answers])
    p = cli.write_lines("prompts.jsonl", [{"text": x} for x in prompts])
    t = cli.write_lines("teacher.jsonl", [{"text": x} for x in teacher])
    base = ["radioactive", "--keys", str(keydir), *cli.scheme_args(config), "--ids", "--json", "--answers", str(a)]
    detector = wmark.Detector(config, keys)

    out = json.loads(cli.run(base + ["--prompts", str(p)], ok_codes=(0, 1)))
    ours = stream(detector, answers, prompts)
    assert ours == detector.radioactive(answers, prompts=prompts)
    assert ours.to_dict() == out and json.loads(ours.to_json()) == out
    assert ours.keys == out["keys"] and len(ours.keys) == 2

    out = json.loads(cli.run(base + ["--prompts", str(p), "--filter", str(t), "--dedup", "window"], ok_codes=(0, 1)))
    ours = stream(detector, answers, prompts, teacher, dedup="window")
    assert ours == detector.radioactive(answers, prompts=prompts, teacher=teacher, dedup="window")
    assert ours.to_dict() == out and ours.teacher_filter and ours.dedup == "window"


def test_streaming_radioactivity_text_equals_the_batch(llama3_tokenizer: Path) -> None:
    config = wmark.Config("lefthash", vocab_size=128_256)
    detector = wmark.Detector(config, fixed_key(52), tokenizer=llama3_tokenizer, alpha=1e-3)
    answers = [human_text(i, 60) for i in range(3)]
    prompts = [human_text(10 + i, 20) for i in range(2)]
    ours = stream(detector, answers, prompts)
    assert ours == detector.radioactive(answers, prompts=prompts)
    assert ours.alpha == 1e-3 and ours.answers == 3 and ours.prompts == 2


def test_streaming_radioactivity_errors_and_finish() -> None:
    config = wmark.Config("lefthash", vocab_size=2000)
    detector = wmark.Detector(config, fixed_key(53))
    test = wmark.Radioactivity(detector)
    assert "finished=False" in repr(test)
    with pytest.raises(wmark.InputError, match="teacher filter is off"):
        test.add_teacher([1, 2, 3])
    with pytest.raises(wmark.InputError, match="needs a tokenizer"):
        test.add_answer("text needs a tokenizer")
    with pytest.raises(wmark.VocabMismatchError):
        test.add_answer([1, 5000])
    with pytest.raises(wmark.InputError):
        test.add_answer([1, -2])
    test.add_answer([1, 2, 3, 4])
    with pytest.raises(wmark.InputError, match="before the first answer"):
        test.add_prompt([1, 2, 3])
    report = test.finish()
    assert report.answers == 1 and report.answer_tokens == 4 and report.verdict == "insufficient"
    assert test.finished and "finished=True" in repr(test)
    for call in (lambda: test.add_answer([1, 2]), lambda: test.add_prompt([1, 2]), lambda: test.add_teacher([1]),
                 test.finish, lambda: test.units, lambda: test.memory_bytes):
        with pytest.raises(wmark.InputError, match="finished"):
            call()
    with pytest.raises(wmark.ConfigError):
        wmark.Radioactivity(detector, alpha=2.0)
    with pytest.raises(wmark.ConfigError):
        wmark.Radioactivity(detector, dedup="sometimes")
    with pytest.raises(TypeError):
        wmark.Radioactivity(config)  # type: ignore[arg-type]
    with pytest.raises(wmark.VocabMismatchError, match="answer 1"):
        detector.radioactive([[1, 2], [1, 5000]])


def test_report_attributes_are_converted_once() -> None:
    config = wmark.Config("lefthash", vocab_size=3000, delta=4.0)
    key = fixed_key(54)
    r = wmark.Detector(config, [key, fixed_key(55)], windows=True).detect(ids=generate(config, key, 50, 6, [1]))
    assert r.keys is r.keys and r.spans is r.spans and r.token_flags is None
    assert isinstance(r.keys, list) and isinstance(r.keys[0], dict) and isinstance(r.spans[0]["log10_p"], float)
    assert isinstance(r.scored, int) and isinstance(r.verdict, str) and isinstance(r.dedup, str)
    with pytest.raises(AttributeError):
        r.scored = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        r.keys = []  # type: ignore[misc]
