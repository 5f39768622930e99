import json
import os

import runs


def test_wmark_eval_binary(monkeypatch):
    monkeypatch.delenv("WMARK_BIN", raising=False)
    monkeypatch.delenv("WMARK_EVAL_BIN", raising=False)
    assert runs.wmark_eval_bin() == str(runs.ROOT / "target" / "release" / "wmark-eval")
    assert runs.wmark_bin() == str(runs.ROOT / "target" / "release" / "wmark")
    monkeypatch.setenv("WMARK_BIN", "/opt/x/debug/wmark")
    assert runs.wmark_eval_bin() == "/opt/x/debug/wmark-eval"
    monkeypatch.setenv("WMARK_EVAL_BIN", "/elsewhere/wmark-eval")
    assert runs.wmark_eval_bin() == "/elsewhere/wmark-eval"


def test_a_missing_binary_is_one_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("WMARK_EVAL_BIN", str(tmp_path / "wmark-eval"))
    try:
        runs.wmark_eval("null", "--json", who="eval")
    except SystemExit as e:
        assert str(e).startswith(f"eval: cannot run {tmp_path / 'wmark-eval'} (No such file or directory)")
        assert "WMARK_EVAL_BIN" in str(e)
    else:
        raise AssertionError("no exit")


def test_exit_codes(monkeypatch, tmp_path):
    fake = tmp_path / "wmark"
    fake.write_text("#!/bin/sh\necho out \"$@\"\necho oops >&2\nexit \"$2\"\n")
    fake.chmod(0o755)
    monkeypatch.setenv("WMARK_BIN", str(fake))
    assert runs.wmark("detect", 1) == "out detect 1\n"  # 0 and 1 are answers for wmark
    try:
        runs.wmark("detect", 2, who="t")
    except SystemExit as e:
        assert str(e) == "t: wmark detect 2 failed (2): oops"
    else:
        raise AssertionError("no exit")


def test_diversity_runs_answer_each_prompt_several_times(tmp_path):
    cmd, prompts = runs.command("div-gumbel4-t1.0", tmp_path / "out.jsonl", n_prompts=2)
    try:
        lines = [json.loads(line) for line in open(prompts)]
    finally:
        os.unlink(prompts)
    assert [p["id"] for p in lines] == [f"t00{i}#{r}" for i in range(2) for r in range(runs.DIVERSITY_ANSWERS)]
    assert cmd[cmd.index("--max-tokens") + 1] == str(runs.DIVERSITY_TOKENS)
    assert cmd[cmd.index("--scheme") + 1] == "gumbel:4" and "--gamma" not in cmd and "--delta" not in cmd
    cmd, prompts = runs.command("div-plain-t1.0", tmp_path / "out.jsonl", n_prompts=1, tokens=24, answers=2)
    os.unlink(prompts)
    assert "--no-watermark" in cmd and cmd[cmd.index("--min-tokens") + 1] == "24"
    cmd, prompts = runs.command("wm-lefthash-t0.7", tmp_path / "out.jsonl", n_prompts=1)
    os.unlink(prompts)
    assert cmd[cmd.index("--max-tokens") + 1] == str(runs.TOKENS) and cmd[cmd.index("--gamma") + 1] == "0.25"
