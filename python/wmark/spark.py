"""Detection and the corpus radioactivity test on Apache Spark (pyspark 4.x, Java 17).

The same tests as ``wmark detect --json`` and ``wmark radioactive --json``, with the same
numbers, on DataFrames spread over a cluster:

* :func:`detect` adds report columns to a DataFrame (one report per row, as ``wmark detect``
  gives per document);
* :func:`radioactive` runs the corpus radioactivity test over a DataFrame of answers and
  returns the dict ``wmark radioactive --json`` prints.

Both run the Rust scorer on Arrow batches (``mapInArrow``): each Python worker builds one
detector (keys, configuration, tokenizer) on its first batch and keeps it for the life of
the process; a batch is scored in one call with the GIL released.

The documents are a string column (text: needs ``tokenizer=``, the same tokenizer.json as
the command line's ``--tokenizer``) or an array-of-integers column (token ids).

**Bad rows never fail the job and are never dropped silently.** In :func:`detect` a null,
an empty document, an id outside ``0..vocab_size`` or text without a tokenizer gives a row
whose report columns are null and whose ``wmark_error`` says why. In :func:`radioactive`
such rows are left out of the test, counted and shown under ``"rejected"`` in the returned
dict (absent when every row was good; the command line would stop at the first bad
document instead). An empty answer is not an error there: the command line counts it as an
answer of 0 tokens, and so does this test.

**Keys** reach the executors in one of two ways (``key_transport``):

* ``"path"`` (default): the key file's path; every executor opens it with the permission
  check of ``Key.load`` (mode 0600, readable by the user the executors run as). Nothing
  secret travels; the file must exist at the same path on every worker.
* ``"broadcast"``: the driver reads the file (same check) and Spark broadcasts its text;
  executors parse it in memory. No file to distribute, but the key travels over Spark's
  network and may be spilled into the executors' local directories (block manager).

docs/scale.md discusses the trade-off and the throughput.

How the radioactivity test is distributed (the command line reads the corpus as one stream
with one dedup tape; each step below gives the same counts):

1. prompts and teacher documents: each partition emits its distinct (key, context
   fingerprint) pairs, made distinct across the corpus by Spark;
2. answers: each partition emits one row per (key, unit) with the unit's 64-bit dedup
   identity (the command line's fold of the tuple or context fingerprint), its context
   fingerprint, its place in the corpus (row, position) and its score; a repeat inside a
   batch is folded into its first occurrence's count;
3. prompt-context exclusion and the teacher filter are joins on (key, context);
4. the corpus-wide dedup is a group-by on (key, identity) keeping the first occurrence in
   corpus order (a unit's score depends on its identity only, so any occurrence gives the
   same bit; for the Gumbel-max ``window`` dedup the first one is the one the command line
   scores);
5. the driver reads the scored units, puts them in corpus order and tallies them one by one: the same
   summation order as the command line (so a real-valued score sum is the same double),
   the same checkpoints, and the exact tail of wmark-detect.

Corpus order is the DataFrame's order (``monotonically_increasing_id``): give the command
line the rows in that order to compare.
"""

from __future__ import annotations

import os
import threading
import typing
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

import wmark
from wmark import _wmark as _native_module

# The private half of this module (python/src/spark.rs: `_spark_detect`, `_SparkScan`, ...),
# deliberately left out of the package's stubs.
_wmark: Any = _native_module

__all__ = ["detect", "radioactive", "REPORT_COLUMNS"]

KeyPaths = Union[str, "os.PathLike[str]", typing.Sequence[Union[str, "os.PathLike[str]"]]]

#: The columns :func:`detect` adds (after ``prefix``), in order, with their Spark SQL types.
REPORT_COLUMNS: List[Tuple[str, str]] = [
    ("verdict", "string"),
    ("log10_p", "double"),
    ("p_value", "double"),
    ("tokens", "long"),
    ("scored", "long"),
    ("green", "long"),
    ("score", "double"),
    ("key_id", "string"),
    ("report", "string"),
    ("error", "string"),
]


# ---------------------------------------------------------------------------------------
# Driver side: a picklable description of the detector the executors build.


def _config_spec(config: Any) -> Dict[str, Any]:
    """A plain dict that rebuilds `config` on an executor (wmark.Config is not pickled)."""
    if isinstance(config, dict):
        config = wmark.Config(**config)
    if not isinstance(config, wmark.Config):
        raise TypeError(f"config must be a wmark.Config (or a dict of its arguments), got {type(config).__name__}")
    spec: Dict[str, Any] = {"scheme": config.scheme, "vocab_size": config.vocab_size}
    if config.gamma is not None and config.delta is not None:
        # The HF schemes are built from the ratio asked for; the others from G/256.
        spec["gamma"] = config.greenlist_ratio if config.greenlist_ratio is not None else config.gamma
        spec["delta"] = float(config.delta)
    if config.alpha is not None:
        spec["alpha"] = config.alpha
    if config.sampling_table is not None:  # hf-synthid
        spec["sampling_table_size"], spec["sampling_table_seed"] = config.sampling_table[0], config.sampling_table[1]
    return spec


def _key_paths(key_path: KeyPaths) -> List[str]:
    if isinstance(key_path, (str, os.PathLike)):
        paths = [os.fspath(key_path)]
    else:
        paths = [os.fspath(p) for p in key_path]
    if not paths:
        raise wmark.NoKeysError("key_path names no key file")
    return [os.path.abspath(p) for p in paths]


def _detector_spec(
    spark: Any,
    config: Any,
    key_path: KeyPaths,
    key_transport: str,
    tokenizer: Optional[Union[str, os.PathLike[str]]],
    dedup: Optional[str],
    alpha: float,
    bos_id: Optional[int],
    normalize: bool,
) -> Dict[str, Any]:
    """Checks everything on the driver (a bad key file or configuration fails here, once,
    with its own exception) and returns what the executors need."""
    paths = _key_paths(key_path)
    keys = [wmark.Key.load(p) for p in paths]  # permission and format checks
    cfg = _config_spec(config)
    tok = None if tokenizer is None else os.path.abspath(os.fspath(tokenizer))
    # Build one detector here: the configuration, keys, tokenizer and options are checked.
    wmark.Detector(wmark.Config(**cfg), keys, tokenizer=tok, dedup=dedup, alpha=alpha, bos_id=bos_id, normalize=normalize)
    spec: Dict[str, Any] = {
        "config": cfg,
        "tokenizer": tok,
        "dedup": dedup,
        "alpha": alpha,
        "bos_id": bos_id,
        "normalize": normalize,
        "key_ids": [k.id for k in keys],
    }
    if key_transport == "path":
        spec["key_paths"] = paths
    elif key_transport == "broadcast":
        texts = []
        for p in paths:
            with open(p, encoding="utf-8") as f:
                texts.append(f.read())
        spec["key_broadcast"] = spark.sparkContext.broadcast(texts)
    else:
        raise wmark.ConfigError(f"key_transport must be 'path' or 'broadcast', got {key_transport!r}")
    return spec


# ---------------------------------------------------------------------------------------
# Executor side: one detector per Python worker process.

_CACHE: Dict[Tuple[Any, ...], Any] = {}
_CACHE_LOCK = threading.Lock()


def _spec_key(spec: Dict[str, Any], what: str) -> Tuple[Any, ...]:
    return (
        what,
        tuple(sorted(spec["config"].items())),
        tuple(spec.get("key_paths") or ()),
        tuple(spec["key_ids"]),
        spec["tokenizer"],
        spec["dedup"],
        spec["alpha"],
        spec["bos_id"],
        spec["normalize"],
    )


def _executor_detector(spec: Dict[str, Any]) -> Any:
    key = _spec_key(spec, "detector")
    with _CACHE_LOCK:
        det = _CACHE.get(key)
        if det is None:
            if "key_paths" in spec:
                keys = [wmark.Key.load(p) for p in spec["key_paths"]]
            else:
                keys = [_wmark._spark_key_from_file_text(t) for t in spec["key_broadcast"].value]
            ids = [k.id for k in keys]
            if ids != spec["key_ids"]:
                raise wmark.KeyFileError(f"the executor read keys {ids}, the driver {spec['key_ids']}: the key files differ")
            det = wmark.Detector(
                wmark.Config(**spec["config"]),
                keys,
                tokenizer=spec["tokenizer"],
                dedup=spec["dedup"],
                alpha=spec["alpha"],
                bos_id=spec["bos_id"],
                normalize=spec["normalize"],
            )
            _CACHE[key] = det
        return det


def _executor_scan(spec: Dict[str, Any], dedup: str) -> Any:
    key = _spec_key(spec, "scan:" + dedup)
    det = _executor_detector(spec)
    with _CACHE_LOCK:
        scan = _CACHE.get(key)
        if scan is None:
            scan = _wmark._SparkScan(det, dedup)
            _CACHE[key] = scan
        return scan


def _column_kind(dtype: Any) -> str:
    """'text' or 'ids' for a Spark SQL type; a clear error for anything else."""
    from pyspark.sql import types as T

    if isinstance(dtype, T.StringType):
        return "text"
    if isinstance(dtype, T.ArrayType) and isinstance(
        dtype.elementType, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
    ):
        return "ids"
    raise wmark.InputError(
        f"the document column has type {dtype.simpleString()}; expected string (text) or array of integers (token ids)"
    )


def _batch_args(column: Any, kind: str) -> Dict[str, Any]:
    """The keyword arguments of the native batch functions for one Arrow column."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]

    if kind == "text":
        return {"texts": column.to_pylist()}
    col = column.cast(pa.large_list(pa.int64()))
    valid = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    lengths = pc.fill_null(pc.list_value_length(col), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.zeros(len(col) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = pc.list_flatten(col)
    values = pc.fill_null(flat, np.iinfo(np.int64).min).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return {"values": np.ascontiguousarray(values), "offsets": offsets, "valid": valid}


# ---------------------------------------------------------------------------------------
# detect


def detect(
    df: Any,
    column: str,
    config: Any,
    key_path: KeyPaths,
    *,
    tokenizer: Optional[Union[str, os.PathLike[str]]] = None,
    dedup: Optional[str] = None,
    alpha: float = 1e-6,
    bos_id: Optional[int] = None,
    normalize: bool = True,
    key_transport: str = "path",
    prefix: str = "wmark_",
) -> Any:
    """`df` with one watermark report per row of `column` (text, or token ids).

    Adds the columns of :data:`REPORT_COLUMNS`, named ``prefix + name``: ``verdict``
    (``watermarked``, ``not_watermarked`` or ``insufficient``), ``log10_p``, ``p_value``,
    ``tokens``, ``scored``, ``green`` (green-list schemes) or ``score`` (Gumbel-max
    schemes), ``key_id`` (the best key), ``report`` (the JSON line of ``wmark detect
    --json``, without ``source``) and ``error`` (null for a good row). A bad row keeps its
    place with null report columns and its error. Lazy, like any transformation.

    `key_path`: a key file, or a list of them (accounts: the best key is reported, its
    p-value corrected for the number of keys). The other options are ``wmark.Detector``'s.
    """
    kind = _column_kind(df.schema[column].dataType)
    spec = _detector_spec(df.sparkSession, config, key_path, key_transport, tokenizer, dedup, alpha, bos_id, normalize)
    from pyspark.sql import types as T

    added = [prefix + name for name, _ in REPORT_COLUMNS]
    clash = [c for c in added if c in df.columns]
    if clash:
        raise wmark.InputError(f"the DataFrame already has columns {clash}; choose another prefix=")
    sql = {"string": T.StringType(), "double": T.DoubleType(), "long": T.LongType()}
    schema = T.StructType(list(df.schema.fields) + [T.StructField(prefix + n, sql[t], True) for n, t in REPORT_COLUMNS])
    position = df.columns.index(column)

    def score(batches: typing.Iterator[Any]) -> typing.Iterator[Any]:
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

        arrow = {"string": pa.string(), "double": pa.float64(), "long": pa.int64()}
        det = _executor_detector(spec)
        names = [f.name for f in schema.fields]
        for batch in batches:
            out = _wmark._spark_detect(det, **_batch_args(batch.column(position), kind))
            arrays = list(batch.columns) + [pa.array(out[n], type=arrow[t]) for n, t in REPORT_COLUMNS]
            yield pa.RecordBatch.from_arrays(arrays, names=names)

    return df.mapInArrow(score, schema)


def _arrow_schema(schema: Any) -> Any:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema)


# ---------------------------------------------------------------------------------------
# radioactive

_ROWS = "struct<row:long,tokens:long,no_context:long,error:string>"


def _scan_contexts(df: Any, column: str, spec: Dict[str, Any], teacher: bool, dedup: str) -> Tuple[Any, Any]:
    """(row info, distinct (key, ctx)) DataFrames of prompts or teacher documents."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    kind = _column_kind(df.schema[column].dataType)
    schema = T.StructType(
        [
            T.StructField("what", T.ByteType(), True),
            T.StructField("row", T.LongType(), True),
            T.StructField("tokens", T.LongType(), True),
            T.StructField("error", T.StringType(), True),
            T.StructField("key", T.IntegerType(), True),
            T.StructField("ctx", T.LongType(), True),
        ]
    )
    src = df.select(F.col(column).alias("doc"), F.monotonically_increasing_id().alias("row"))

    def run(batches: typing.Iterator[Any]) -> typing.Iterator[Any]:
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

        scan = _executor_scan(spec, dedup)
        arrow = _arrow_schema(schema)
        for batch in batches:
            out = scan.contexts(teacher=teacher, **_batch_args(batch.column(0), kind))
            rows = batch.column(1)
            n = len(rows)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(np.zeros(n, dtype=np.int8)),
                    rows,
                    pa.array(out["tokens"]),
                    pa.array(out["error"], type=pa.string()),
                    pa.nulls(n, pa.int32()),
                    pa.nulls(n, pa.int64()),
                ],
                schema=arrow,
            )
            m = len(out["key"])
            if m:
                yield pa.RecordBatch.from_arrays(
                    [
                        pa.array(np.ones(m, dtype=np.int8)),
                        pa.nulls(m, pa.int64()),
                        pa.nulls(m, pa.int64()),
                        pa.nulls(m, pa.string()),
                        pa.array(out["key"]),
                        pa.array(out["ctx"]),
                    ],
                    schema=arrow,
                )

    both = src.mapInArrow(run, schema)
    rows = both.filter("what = 0").select("row", "tokens", "error")
    ctxs = both.filter("what = 1").select("key", "ctx").distinct()
    return rows, ctxs


def _scan_answers(df: Any, column: str, spec: Dict[str, Any], dedup: str) -> Any:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    kind = _column_kind(df.schema[column].dataType)
    schema = T.StructType(
        [
            T.StructField("what", T.ByteType(), True),
            T.StructField("row", T.LongType(), True),
            T.StructField("tokens", T.LongType(), True),
            T.StructField("no_context", T.LongType(), True),
            T.StructField("error", T.StringType(), True),
            T.StructField("key", T.IntegerType(), True),
            T.StructField("ident", T.LongType(), True),
            T.StructField("ctx", T.LongType(), True),
            T.StructField("pos", T.IntegerType(), True),
            T.StructField("score", T.DoubleType(), True),
            T.StructField("n", T.LongType(), True),
        ]
    )
    src = df.select(F.col(column).alias("doc"), F.monotonically_increasing_id().alias("row"))

    def run(batches: typing.Iterator[Any]) -> typing.Iterator[Any]:
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

        scan = _executor_scan(spec, dedup)
        arrow = _arrow_schema(schema)
        for batch in batches:
            out = scan.answers(**_batch_args(batch.column(0), kind))
            rows = batch.column(1)
            n = len(rows)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(np.zeros(n, dtype=np.int8)),
                    rows,
                    pa.array(out["tokens"]),
                    pa.array(out["no_context"]),
                    pa.array(out["error"], type=pa.string()),
                    pa.nulls(n, pa.int32()),
                    pa.nulls(n, pa.int64()),
                    pa.nulls(n, pa.int64()),
                    pa.nulls(n, pa.int32()),
                    pa.nulls(n, pa.float64()),
                    pa.nulls(n, pa.int64()),
                ],
                schema=arrow,
            )
            m = len(out["key"])
            if m:
                row_ids = rows.to_numpy(zero_copy_only=False)[out["row"]]
                yield pa.RecordBatch.from_arrays(
                    [
                        pa.array(np.ones(m, dtype=np.int8)),
                        pa.array(row_ids),
                        pa.nulls(m, pa.int64()),
                        pa.nulls(m, pa.int64()),
                        pa.nulls(m, pa.string()),
                        pa.array(out["key"]),
                        pa.array(out["ident"]),
                        pa.array(out["ctx"]),
                        pa.array(out["pos"]),
                        pa.array(out["score"]),
                        pa.array(out["n"]),
                    ],
                    schema=arrow,
                )

    return src.mapInArrow(run, schema)


def _rejected(rows: Any, what: str, limit: int = 10) -> Tuple[int, List[Dict[str, Any]]]:
    bad = rows.filter("error IS NOT NULL")
    n = bad.count()
    examples = [] if n == 0 else [{"part": what, "row": r["row"], "error": r["error"]} for r in bad.orderBy("row").limit(limit).collect()]
    return n, examples


def radioactive(
    answers_df: Any,
    column: str,
    config: Any,
    key_path: KeyPaths,
    prompts_df: Any = None,
    teacher_df: Any = None,
    *,
    prompts_column: Optional[str] = None,
    teacher_column: Optional[str] = None,
    tokenizer: Optional[Union[str, os.PathLike[str]]] = None,
    dedup: Optional[str] = None,
    alpha: float = 1e-6,
    bos_id: Optional[int] = None,
    normalize: bool = True,
    key_transport: str = "path",
) -> Dict[str, Any]:
    """The corpus radioactivity test of ``wmark radioactive --json`` on Spark: the same dict.

    `answers_df[column]`: the suspect model's answers, text or token ids, in corpus order
    (the DataFrame's order). `prompts_df`: contexts seen there are not scored in the answers
    (``--prompts``). `teacher_df`: the provider's own watermarked texts; only answer tuples
    whose context occurs there are scored (``--filter``). Their columns default to `column`.
    `dedup` defaults to the scheme's (``tuple``; ``window`` for the Gumbel-max schemes and
    ``hf-synthid``).

    Bad rows are left out, counted, and listed under ``"rejected"`` (see the module
    documentation); with no bad row the dict is exactly the command line's.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    spark = answers_df.sparkSession
    spec = _detector_spec(spark, config, key_path, key_transport, tokenizer, dedup, alpha, bos_id, normalize)
    cfg = wmark.Config(**spec["config"])
    mode = dedup if dedup is not None else cfg.default_dedup
    if mode not in ("none", "window", "tuple"):
        raise wmark.ConfigError(f"unknown dedup mode {mode!r}; expected none, window or tuple")
    n_keys = len(spec["key_ids"])
    rejected: List[Dict[str, Any]] = []
    counts = {"prompts": 0, "answers": 0, "teacher_documents": 0}

    def side(df: Any, col: Optional[str], teacher: bool, what: str) -> Tuple[Any, int, int]:
        rows, ctxs = _scan_contexts(df, col or column, spec, teacher, mode)
        rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
        n_bad, examples = _rejected(rows, what)
        rejected.extend(examples)
        counts[what + ("s" if what == "prompt" else "_documents")] = n_bad
        agg = rows.filter("error IS NULL").agg(F.count("*").alias("docs"), F.sum("tokens").alias("tokens")).first()
        rows.unpersist()
        return ctxs, int(agg["docs"]), int(agg["tokens"] or 0)

    prompt_ctx = None
    prompts = prompt_tokens = teacher_docs = teacher_tokens = 0
    if prompts_df is not None:
        prompt_ctx, prompts, prompt_tokens = side(prompts_df, prompts_column, False, "prompt")
    teacher_ctx = None
    if teacher_df is not None:
        teacher_ctx, teacher_docs, teacher_tokens = side(teacher_df, teacher_column, True, "teacher")
        teacher_ctx = teacher_ctx.persist(StorageLevel.MEMORY_AND_DISK)

    scanned = _scan_answers(answers_df, column, spec, mode).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rows = scanned.filter("what = 0").select("row", "tokens", "no_context", "error")
        n_bad, examples = _rejected(rows, "answer")
        rejected.extend(examples)
        counts["answers"] = n_bad
        # Sorted here rather than by Spark: the driver holds these rows anyway, and a global
        # sort would cost a sampling job and a shuffle.
        good = rows.filter("error IS NULL").select("row", "tokens", "no_context").toArrow()
        order = np.argsort(good.column("row").to_numpy(), kind="stable")
        row_ids = good.column("row").to_numpy()[order]
        row_tokens = good.column("tokens").to_numpy().astype(np.int64)[order]
        no_context = int(good.column("no_context").to_numpy().sum())
        before = np.zeros(len(row_tokens), dtype=np.int64)
        if len(row_tokens):
            np.cumsum(row_tokens[:-1], out=before[1:])

        units = scanned.filter("what = 1").select("key", "ident", "ctx", "row", "pos", "score", "n")
        status = F.lit(0)
        if prompt_ctx is not None:
            units = units.join(prompt_ctx.withColumn("in_prompt", F.lit(True)), ["key", "ctx"], "left")
        if teacher_ctx is not None:
            units = units.join(teacher_ctx.withColumn("in_teacher", F.lit(True)), ["key", "ctx"], "left")
        if prompt_ctx is not None and teacher_ctx is not None:
            status = F.when(F.col("in_prompt"), 1).when(F.col("in_teacher").isNull(), 2).otherwise(0)
        elif prompt_ctx is not None:
            status = F.when(F.col("in_prompt"), 1).otherwise(0)
        elif teacher_ctx is not None:
            status = F.when(F.col("in_teacher").isNull(), 2).otherwise(0)
        units = units.withColumn("status", status).persist(StorageLevel.MEMORY_AND_DISK)
        by_status = {(r["key"], r["status"]): int(r["n"]) for r in units.groupBy("key", "status").agg(F.sum("n").alias("n")).collect()}
        kept = units.filter("status = 0")
        if mode == "none":
            firsts = kept.select("key", "row", "pos", "score")
        else:
            firsts = (
                kept.groupBy("key", "ident")
                .agg(F.min(F.struct("row", "pos", "score")).alias("f"))
                .select("key", "f.row", "f.pos", "f.score")
            )
        ordered = firsts.toArrow()
        teacher_counts: Dict[int, int] = {}
        if teacher_ctx is not None:
            teacher_counts = {r["key"]: int(r["c"]) for r in teacher_ctx.groupBy("key").agg(F.count("*").alias("c")).collect()}
        units.unpersist()
    finally:
        scanned.unpersist()
        if teacher_ctx is not None:
            teacher_ctx.unpersist()

    keys = []
    # Corpus order: by key, then row, then position (np.lexsort sorts by the last key first).
    k_col = ordered.column("key").to_numpy()
    rows_col = ordered.column("row").to_numpy()
    pos_col = ordered.column("pos").to_numpy().astype(np.int64)
    order = np.lexsort((pos_col, rows_col, k_col))
    k_col, rows_col, pos_col = k_col[order], rows_col[order], pos_col[order]
    score_col = ordered.column("score").to_numpy()[order]
    for k in range(n_keys):
        sel = k_col == k
        at = np.searchsorted(row_ids, rows_col[sel])
        tokens_at = before[at] + pos_col[sel] + 1
        admitted = by_status.get((k, 0), 0)
        scored = int(sel.sum())
        keys.append(
            {
                "scores": score_col[sel].tolist(),
                "tokens_at": tokens_at.astype(np.uint64).tolist(),
                "excluded_prompt_context": by_status.get((k, 1), 0),
                "filtered_out": by_status.get((k, 2), 0),
                "repeats": admitted - scored,
                "teacher_contexts": teacher_counts.get(k, 0),
            }
        )
    corpus = {
        "prompts": prompts,
        "prompt_tokens": prompt_tokens,
        "teacher_documents": teacher_docs,
        "teacher_tokens": teacher_tokens,
        "answers": int(len(row_ids)),
        "answer_tokens": int(row_tokens.sum()),
        "no_context": no_context,
    }
    det = _executor_detector(spec)
    report = _wmark._spark_radioactivity_report(
        det, dedup=mode, alpha=alpha, teacher_filter=teacher_ctx is not None, corpus=corpus, keys=keys
    ).to_dict()
    if any(counts.values()):
        report["rejected"] = {**counts, "examples": rejected}
    return report
