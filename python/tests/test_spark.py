"""wmark.spark on a local Spark (local[2]) against the `wmark` command line: `detect` gives
`wmark detect --json`'s report per row, `radioactive` gives `wmark radioactive --json`'s dict
exactly (counts, score sums to the last bit, log10 p, checkpoints), on the distillation
scenario's student answers and on a generated corpus of more than 10^6 answer tokens.

Skipped only when Java is absent (scripts/test-python installs it when it can)."""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import numpy as np
import pytest

import wmark
from conftest import ROOT, Cli, fixed_key

if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Java is not installed: Spark needs Java 17 (openjdk-17-jre-headless)", allow_module_level=True)

import pyspark  # noqa: E402  (installed by scripts/test-python: python/requirements-spark.txt)
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

import wmark.spark as wspark  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from wmarkexp.students import Trigram, mix  # noqa: E402

SMOLLM2_VOCAB = 49152


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    # The Python workers must import this virtualenv's wmark and pyarrow.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("wmark-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "500")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    assert pyspark.__version__.startswith("4.")
    yield session
    session.stop()


def ids_frame(spark: Any, docs: List[Optional[List[int]]], partitions: int = 3) -> Any:
    schema = T.StructType([T.StructField("doc", T.ArrayType(T.LongType()), True)])
    # createDataFrame keeps the list's order; coalesce keeps it across fewer partitions.
    return spark.createDataFrame([(d,) for d in docs], schema).coalesce(partitions)


def cli_radioactive(
    cli: Cli,
    keys: List[Path],
    config: wmark.Config,
    answers: List[List[int]],
    prompts: Optional[List[List[int]]] = None,
    teacher: Optional[List[List[int]]] = None,
    dedup: Optional[str] = None,
) -> Dict[str, Any]:
    args = ["radioactive", *cli.scheme_args(config), "--ids", "--json"]
    for k in keys:
        args += ["--key", str(k)]
    args += ["--answers", str(cli.write_lines("answers.jsonl", [{"text": a} for a in answers]))]
    if prompts is not None:
        args += ["--prompts", str(cli.write_lines("prompts.jsonl", [{"text": p} for p in prompts]))]
    if teacher is not None:
        args += ["--filter", str(cli.write_lines("teacher.jsonl", [{"text": t} for t in teacher]))]
    if dedup is not None:
        args += ["--dedup", dedup]
    return json.loads(cli.run(args, ok_codes=(0, 1)))


def spark_radioactive(spark: Any, keys: List[Path], config: wmark.Config, answers: List[List[int]], *, prompts=None,
                      teacher=None, dedup=None, **kw: Any) -> Dict[str, Any]:
    return wspark.radioactive(
        ids_frame(spark, answers, 4),
        "doc",
        config,
        [str(k) for k in keys],
        prompts_df=None if prompts is None else ids_frame(spark, prompts, 2),
        teacher_df=None if teacher is None else ids_frame(spark, teacher, 2),
        dedup=dedup,
        **kw,
    )


def load_ids(name: str) -> List[List[int]]:
    with open(ROOT / "data" / "generations" / name) as f:
        return [json.loads(line)["ids"] for line in f]


@pytest.fixture(scope="module")
def distillation(tmp_path_factory: Any, wmark_bin: Path) -> Dict[str, Any]:
    """The distillation scenario (scripts/distill-demo) in small: trigram students of the
    watermarked teacher (ρ = 100 %, and ρ = 5 % with the unwatermarked teacher as the rest),
    answering the fresh prompts; ids throughout."""
    import subprocess

    wm = load_ids("wm-lefthash-t0.7.jsonl")
    plain = load_ids("plain-t0.7.jsonl")
    out = subprocess.run(
        [str(wmark_bin), "tokenize", "--jsonl", "prompt", str(ROOT / "data" / "prompts" / "fresh.jsonl")],
        check=True, capture_output=True, text=True,
    ).stdout
    fresh = [json.loads(line) for line in out.splitlines()][:60]
    students = {}
    for rho in (1.0, 0.05):
        rng = random.Random(int(rho * 1000) + 1)
        docs = wm if rho == 1.0 else mix(rho, sum(map(len, wm)) * 2, wm, plain, rng)[0]
        model = Trigram(docs)
        arng = random.Random(100 + int(rho * 1000))
        students[rho] = [model.answer(p, 150, arng) for p in fresh for _ in range(2)]
    return {"fresh": fresh, "teacher": wm, "students": students}


def experiment_key() -> Path:
    # The published experiment key; git does not keep file modes, and wmark refuses a key
    # file others can read, so a fresh clone needs the chmod scripts/runs.py also does.
    path = ROOT / "data" / "keys" / "experiment.key"
    os.chmod(path, 0o600)
    return path


LEFTHASH = wmark.Config("lefthash", gamma=0.25, delta=2.0, vocab_size=SMOLLM2_VOCAB)


@pytest.mark.parametrize("rho", [1.0, 0.05])
def test_radioactive_equals_the_cli_on_student_answers(spark: Any, cli: Cli, distillation: Dict[str, Any], rho: float) -> None:
    answers, fresh, teacher = distillation["students"][rho], distillation["fresh"], distillation["teacher"]
    key = [experiment_key()]
    want = cli_radioactive(cli, key, LEFTHASH, answers, prompts=fresh)
    got = spark_radioactive(spark, key, LEFTHASH, answers, prompts=fresh)
    assert got == want
    assert got["scored"] > 3_000 and got["repeats"] > 1_000 and got["excluded_prompt_context"] > 0
    if rho == 1.0:
        assert got["verdict"] == "radioactive"
    want = cli_radioactive(cli, key, LEFTHASH, answers, prompts=fresh, teacher=teacher)
    got = spark_radioactive(spark, key, LEFTHASH, answers, prompts=fresh, teacher=teacher)
    assert got == want and got["filtered_out"] > 0 and got["teacher_filter"] is True


def test_radioactive_dedup_modes_several_keys_and_gumbel(spark: Any, cli: Cli, distillation: Dict[str, Any]) -> None:
    answers, fresh = distillation["students"][1.0][:60], distillation["fresh"]
    keys = [experiment_key(), cli.key_file(fixed_key(3), "other.key")]
    for dedup in ("none", "window"):
        want = cli_radioactive(cli, keys, LEFTHASH, answers, prompts=fresh, dedup=dedup)
        assert spark_radioactive(spark, keys, LEFTHASH, answers, prompts=fresh, dedup=dedup) == want
    # Gumbel-max: a real-valued sum, the same double only if summed in the same order.
    gumbel = wmark.Config("gumbel:4", vocab_size=SMOLLM2_VOCAB)
    want = cli_radioactive(cli, keys[1:], gumbel, answers, prompts=fresh)
    got = spark_radioactive(spark, keys[1:], gumbel, answers, prompts=fresh)
    assert got == want and got["dedup"] == "window" and got["score"] > 0


def test_radioactive_vllm_fixture_answers(spark: Any, cli: Cli) -> None:
    with open(ROOT / "fixtures" / "vllm-answers" / "vllm-gumbel-w4.jsonl") as f:
        answers = [json.loads(line)["ids"] for line in f]
    key = cli.key_file(wmark.Key.from_vllm(9876543210123456789), "vllm.key")
    config = wmark.Config("vllm-gumbel:4", vocab_size=SMOLLM2_VOCAB)
    want = cli_radioactive(cli, [key], config, answers)
    got = spark_radioactive(spark, [key], config, answers)
    assert got == want and got["verdict"] == "radioactive"


def test_radioactive_and_detect_on_hugging_face_kgw(spark: Any, cli: Cli) -> None:
    answers = synthetic_corpus(60, 40, 1_000, seed=21)
    key = cli.key_file(wmark.Key.from_hf(15485863), "hf.key")
    for config in (wmark.Config("hf-selfhash:3", gamma=0.3, vocab_size=1_000),
                   wmark.Config("hf-lefthash:2", gamma=0.5, vocab_size=1_000)):
        assert spark_radioactive(spark, [key], config, answers) == cli_radioactive(cli, [key], config, answers)
        out = cli.run(["detect", "--key", str(key), *cli.scheme_args(config), "--ids", "--json",
                       str(cli.write_lines("hf.jsonl", answers))], ok_codes=(0, 1))
        want = [json.loads(line) for line in out.splitlines()]
        rows = wspark.detect(ids_frame(spark, answers, 3), "doc", config, str(key)).collect()
        got = [json.loads(r["wmark_report"]) for r in rows]
        for w in want:
            w.pop("source")
        assert got == want


def test_radioactive_and_detect_on_synthid(spark: Any, cli: Cli) -> None:
    answers = synthetic_corpus(40, 40, 1_000, seed=22)
    key = cli.key_file(wmark.Key.from_synthid([654, 400, 836, 123, 340, 443, 597, 160, 57]), "synthid.key")
    config = wmark.Config("hf-synthid:3", vocab_size=1_000, sampling_table_seed=5)
    assert spark_radioactive(spark, [key], config, answers) == cli_radioactive(cli, [key], config, answers)
    out = cli.run(["detect", "--key", str(key), *cli.scheme_args(config), "--ids", "--json",
                   str(cli.write_lines("synthid.jsonl", answers))], ok_codes=(0, 1))
    want = [json.loads(line) for line in out.splitlines()]
    rows = wspark.detect(ids_frame(spark, answers, 3), "doc", config, str(key), key_transport="broadcast").collect()
    got = [json.loads(r["wmark_report"]) for r in rows]
    for w in want:
        w.pop("source")
    assert got == want and all("mean_score" in g for g in got if g["scored"] > 0)


def synthetic_corpus(n_answers: int, length: int, vocab: int, seed: int) -> List[List[int]]:
    """Answers of a repetitive 'student': Zipf-distributed tokens, with every fourth answer
    partly copied from an earlier one (repeats across answers and partitions)."""
    rng = np.random.default_rng(seed)
    out: List[List[int]] = []
    for i in range(n_answers):
        a = (rng.zipf(1.3, size=length) - 1) % vocab
        if i % 4 == 3 and out:
            j = int(rng.integers(0, len(out)))
            a[: length // 2] = out[j][: length // 2]
        out.append(a.tolist())
    return out


def test_radioactive_equals_the_cli_on_a_million_tokens(spark: Any, cli: Cli) -> None:
    answers = synthetic_corpus(2_000, 520, 5_000, seed=7)
    prompts = synthetic_corpus(200, 50, 5_000, seed=8)
    assert sum(map(len, answers)) >= 1_000_000
    keys = [cli.key_file(fixed_key(11), "a.key"), cli.key_file(fixed_key(12), "b.key")]
    timings = {}
    for config in (wmark.Config("lefthash", vocab_size=5_000), wmark.Config("gumbel:2", vocab_size=5_000)):
        t = time.perf_counter()
        want = cli_radioactive(cli, keys, config, answers, prompts=prompts)
        timings[f"cli {config.scheme}"] = time.perf_counter() - t
        t = time.perf_counter()
        got = spark_radioactive(spark, keys, config, answers, prompts=prompts)
        timings[f"spark {config.scheme}"] = time.perf_counter() - t
        assert got == want
        assert got["answer_tokens"] == 1_040_000 and got["repeats"] > 20_000 and len(got["keys"]) == 2
    print("timings (s):", {k: round(v, 1) for k, v in timings.items()})


def test_radioactive_bad_rows_are_counted_not_dropped(spark: Any, cli: Cli) -> None:
    config = wmark.Config("lefthash", vocab_size=1_000)
    key = cli.key_file(fixed_key(5))
    good = synthetic_corpus(40, 60, 1_000, seed=3)
    docs: List[Optional[List[int]]] = list(good)
    docs.insert(3, None)
    docs.insert(10, [1, 2, 1_000])  # out of the vocabulary
    docs.insert(20, [5, -1])  # not a token id
    docs.insert(25, [])  # an empty answer is an answer of 0 tokens, as for the command line
    got = wspark.radioactive(ids_frame(spark, docs), "doc", config, str(key))
    rejected = got.pop("rejected")
    assert rejected["answers"] == 3 and rejected["prompts"] == 0
    assert [e["part"] for e in rejected["examples"]] == ["answer"] * 3
    assert any("vocabulary" in e["error"] or "1000" in e["error"] for e in rejected["examples"])
    assert got == cli_radioactive(cli, [key], config, good[:24] + [[]] + good[24:])


def test_detect_equals_the_cli_per_row(spark: Any, cli: Cli, distillation: Dict[str, Any]) -> None:
    key = experiment_key()
    docs: List[Optional[List[int]]] = distillation["teacher"][:30] + distillation["students"][0.05][:30]
    out = cli.run(
        ["detect", "--key", str(key), *cli.scheme_args(LEFTHASH), "--ids", "--json",
         str(cli.write_lines("d.jsonl", docs))],
        ok_codes=(0, 1),
    )
    want = [json.loads(line) for line in out.splitlines()]
    for w in want:
        w.pop("source")
    bad: List[Optional[List[int]]] = [None, [], [1, SMOLLM2_VOCAB], [3, -2]]
    frame = ids_frame(spark, docs[:7] + bad + docs[7:], 3)
    for transport in ("path", "broadcast"):
        rows = wspark.detect(frame, "doc", LEFTHASH, str(key), key_transport=transport).collect()
        assert len(rows) == len(docs) + len(bad)
        errors = [r["wmark_error"] for r in rows]
        assert [e is not None for e in errors] == [False] * 7 + [True] * 4 + [False] * (len(docs) - 7)
        assert "null" in errors[7] and "empty" in errors[8] and "-2" in errors[10]
        good = [r for r in rows if r["wmark_error"] is None]
        assert [json.loads(r["wmark_report"]) for r in good] == want
        assert [r["wmark_log10_p"] for r in good] == [w["log10_p"] for w in want]
        assert [r["wmark_green"] for r in good] == [w["green"] for w in want]
        assert [r["wmark_verdict"] for r in good] == [w["verdict"] for w in want]
        assert all(r["wmark_report"] is None and r["wmark_verdict"] is None for r in rows[7:11])
    assert sum(r["wmark_verdict"] == "watermarked" for r in rows) >= 25


def test_detect_text_with_a_tokenizer(spark: Any, cli: Cli, cache_dir: Path) -> None:
    tokenizer = cache_dir / "smollm2" / "tokenizer.json"
    with open(ROOT / "data" / "generations" / "wm-lefthash-t0.7.jsonl") as f:
        texts = [json.loads(line)["text"] for line in f][:12]
    key = experiment_key()
    path = cli.write_lines("t.jsonl", [{"text": t} for t in texts])
    out = cli.run(
        ["detect", "--key", str(key), *cli.scheme_args(LEFTHASH), "--tokenizer", str(tokenizer), "--jsonl", "text",
         "--json", str(path)],
        ok_codes=(0, 1),
    )
    want = [json.loads(line) for line in out.splitlines()]
    for w in want:
        w.pop("source")
    frame = spark.createDataFrame([(t, i) for i, t in enumerate(texts)] + [(None, 99)], "text string, n int")
    rows = wspark.detect(frame, "text", LEFTHASH, str(key), tokenizer=str(tokenizer)).orderBy("n").collect()
    assert [json.loads(r["wmark_report"]) for r in rows[:-1]] == want
    assert rows[-1]["wmark_error"].startswith("null")
    # Without a tokenizer, text rows are errors, not a failed job.
    rows = wspark.detect(frame, "text", LEFTHASH, str(key)).collect()
    assert all(r["wmark_error"] is not None for r in rows)


def test_driver_side_errors_are_one_line(spark: Any, cli: Cli, tmp_path: Path) -> None:
    key = cli.key_file(fixed_key(9))
    frame = spark.createDataFrame([(1.5,)], "x double")
    with pytest.raises(wmark.InputError, match="expected string"):
        wspark.detect(frame, "x", LEFTHASH, str(key))
    loose = tmp_path / "loose.key"
    fixed_key(10).save(loose)
    os.chmod(loose, 0o644)
    ids = ids_frame(spark, [[1, 2, 3]])
    with pytest.raises(wmark.InsecureKeyFileError):
        wspark.detect(ids, "doc", LEFTHASH, str(loose))
    with pytest.raises(wmark.ConfigError, match="key_transport"):
        wspark.detect(ids, "doc", LEFTHASH, str(key), key_transport="email")
    with pytest.raises(wmark.ConfigError):
        wspark.radioactive(ids, "doc", LEFTHASH, str(key), dedup="sometimes")
