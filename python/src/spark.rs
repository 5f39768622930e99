//! The native pieces of `wmark.spark` (python/wmark/spark.py): what one Spark partition
//! computes on an Arrow batch, and what the driver computes from the totals.
//!
//! * [`spark_detect`]: one report per document of a batch, or the row's error: a bad row
//!   (null, ids out of range, empty, not encodable) never fails the batch.
//! * [`PySparkScan`]: the radioactivity test's map side. For prompts and teacher documents
//!   it emits the (key, context fingerprint) pairs the command line puts in its exclusion
//!   and filter sets; for answers, one row per (key, unit) with the unit's dedup identity,
//!   context fingerprint, position and score. Repeats inside one batch are folded into the
//!   first occurrence (with their count), so they cost no keystream block and no shuffle.
//! * [`spark_radioactivity_report`]: the driver's end: the corpus-wide first occurrences,
//!   in corpus order, tallied exactly as `Radioactivity::finish` does (same summation order
//!   for real-valued scores, same checkpoints), decided with the same exact tails.
//!
//! These names start with `_` (`_spark_detect`, `_SparkScan`, ...) and are set on the module
//! without entering `__all__`: they are the private half of `wmark.spark`, not part of the
//! package's API or its stubs.
//!
//! Fingerprints are the command line's: [`fold`] is the 64-bit fold of
//! `wmark_detect::dedup::FpSet` (xor of the halves, 0 kept as 1), so a distributed
//! `distinct` on them merges exactly the units the command line's tape merges. The order of
//! the steps differs from the command line's (dedup inside a batch before the prompt
//! exclusion and teacher filter, which are joins); that is the same thing because both
//! depend on a unit's context, which its identity determines, up to a collision of 64-bit
//! fingerprints (the command line's own caveat, see `wmark_detect::radioactive`).
//!
//! Two pieces copy private code of wmark-detect, which this crate cannot reach: [`fold`]
//! (`dedup::fold`) and the checkpoints and report assembly of `Radioactivity::finish`. The
//! tests in python/tests/test_spark.py compare every field with the command line; exposing
//! both from wmark-detect would leave one definition.

use std::collections::HashMap;

use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use wmark_core::Key;
use wmark_detect::dedup::Dedup;
use wmark_detect::radioactive::{
    Checkpoint, RadioactivityKeyResult, RadioactivityReport, RadioactivityVerdict, RADIOACTIVITY_SCHEMA_VERSION,
};
use wmark_detect::score::{Score, Sink, Unit};
use wmark_detect::verdict::{decide, Outcome};
use wmark_detect::{Report, Scorer, Tally, CHUNK_BYTES};

use crate::core::PyKey;
use crate::detect::{check_alpha, parse_dedup, Doc, PyDetector};
use crate::errors::{error, Kind};
use crate::report::PyRadioactivityReport;

/// The 64-bit fingerprint the command line's corpus sets keep for a 128-bit one (see
/// `wmark_detect::dedup`): the xor of the halves, with 0 (their empty marker) mapped to 1.
#[inline]
fn fold(fp: u128) -> u64 {
    match (fp as u64) ^ ((fp >> 64) as u64) {
        0 => 1,
        f => f,
    }
}

/// One batch of documents from an Arrow column: text, or token ids as flat values and
/// offsets (`valid[i]` false for a null row). A value outside `u32` is reported per row.
enum Batch {
    Texts(Vec<Option<String>>),
    Ids { values: Vec<i64>, offsets: Vec<i64>, valid: Vec<bool> },
}

/// A null token id inside a list (the Python side fills nulls with this).
const NULL_ID: i64 = i64::MIN;

impl Batch {
    fn of(
        texts: Option<&Bound<'_, PyAny>>,
        values: Option<PyReadonlyArray1<'_, i64>>,
        offsets: Option<PyReadonlyArray1<'_, i64>>,
        valid: Option<PyReadonlyArray1<'_, bool>>,
    ) -> PyResult<Batch> {
        match (texts, values, offsets, valid) {
            (Some(t), None, None, None) => {
                let list = t.cast::<PyList>().map_err(|_| error(Kind::Input, "texts must be a list"))?;
                let mut out = Vec::with_capacity(list.len());
                for item in list.iter() {
                    if item.is_none() {
                        out.push(None);
                    } else {
                        let s = item
                            .cast::<PyString>()
                            .map_err(|_| error(Kind::Input, "texts must be a list of str or None"))?;
                        out.push(Some(s.to_cow()?.into_owned()));
                    }
                }
                Ok(Batch::Texts(out))
            }
            (None, Some(v), Some(o), Some(m)) => {
                let (values, offsets, valid) = (v.as_array().to_vec(), o.as_array().to_vec(), m.as_array().to_vec());
                if offsets.len() != valid.len() + 1
                    || offsets.windows(2).any(|w| w[0] > w[1] || w[0] < 0)
                    || offsets.last().is_some_and(|&e| e as usize > values.len())
                {
                    return Err(error(Kind::Input, "ids batch: offsets must be non-decreasing, one more than rows"));
                }
                Ok(Batch::Ids { values, offsets, valid })
            }
            _ => Err(error(Kind::Input, "give texts=, or values=, offsets= and valid=")),
        }
    }

    fn len(&self) -> usize {
        match self {
            Batch::Texts(t) => t.len(),
            Batch::Ids { valid, .. } => valid.len(),
        }
    }

    /// Row `i` as a document, or the row's error.
    fn doc(&self, i: usize) -> Result<Doc, String> {
        match self {
            Batch::Texts(t) => match &t[i] {
                None => Err("null value: nothing to test".into()),
                Some(s) => Ok(Doc::Text(s.clone())),
            },
            Batch::Ids { values, offsets, valid } => {
                if !valid[i] {
                    return Err("null value: nothing to test".into());
                }
                let row = &values[offsets[i] as usize..offsets[i + 1] as usize];
                let mut ids = Vec::with_capacity(row.len());
                for (j, &v) in row.iter().enumerate() {
                    if v == NULL_ID {
                        return Err(format!("null token id at position {j}"));
                    }
                    ids.push(
                        u32::try_from(v)
                            .map_err(|_| format!("token id {v} at position {j} is not a token id (0 to 4294967295)"))?,
                    );
                }
                Ok(Doc::Ids(ids))
            }
        }
    }
}

/// What one row of `spark_detect` gives.
struct DetectRow {
    report: Option<Report>,
    error: Option<String>,
}

fn detect_one(det: &PyDetector, batch: &Batch, i: usize) -> DetectRow {
    let fail = |e: String| DetectRow { report: None, error: Some(e) };
    let r = match batch.doc(i) {
        Err(e) => return fail(e),
        Ok(Doc::Text(t)) if t.is_empty() => return fail("empty document: nothing to test".into()),
        Ok(Doc::Ids(ids)) if ids.is_empty() => return fail("empty document: nothing to test".into()),
        Ok(Doc::Text(t)) => match det.detector.tokenizer() {
            None => return fail("text input needs a tokenizer; give tokenizer=, or token ids".into()),
            Some(_) => det.detector.detect_text(&t, None),
        },
        Ok(Doc::Ids(ids)) => det.detector.detect_ids(&ids, 0),
    };
    match r {
        Ok(report) => DetectRow { report: Some(report), error: None },
        Err(e) => fail(e.to_string()),
    }
}

/// `wmark.spark`'s detect step for one Arrow batch: a dict of equal-length lists
/// (`verdict`, `log10_p`, `p_value`, `scored`, `green`, `score`, `key_id`, `report`
/// (the JSON of `wmark detect --json` without `source`), `error`); a bad row has None
/// everywhere but `error`. Scored without the GIL.
#[pyfunction]
#[pyo3(name = "_spark_detect", signature = (detector, *, texts = None, values = None, offsets = None, valid = None))]
pub fn spark_detect<'py>(
    py: Python<'py>,
    detector: PyRef<'py, PyDetector>,
    texts: Option<&Bound<'py, PyAny>>,
    values: Option<PyReadonlyArray1<'py, i64>>,
    offsets: Option<PyReadonlyArray1<'py, i64>>,
    valid: Option<PyReadonlyArray1<'py, bool>>,
) -> PyResult<Bound<'py, PyDict>> {
    let batch = Batch::of(texts, values, offsets, valid)?;
    let det: &PyDetector = &detector;
    let rows: Vec<DetectRow> = py.detach(|| (0..batch.len()).map(|i| detect_one(det, &batch, i)).collect());
    let out = PyDict::new(py);
    macro_rules! column {
        ($name:literal, $f:expr) => {
            out.set_item($name, PyList::new(py, rows.iter().map(|r| r.report.as_ref().map($f)))?)?;
        };
    }
    column!("verdict", |r: &Report| serde_json::to_value(r.verdict).ok().and_then(|v| v.as_str().map(String::from)));
    column!("log10_p", |r: &Report| r.log10_p);
    column!("p_value", |r: &Report| r.p_value);
    column!("scored", |r: &Report| r.scored);
    column!("tokens", |r: &Report| r.tokens);
    column!("green", |r: &Report| r.score.is_none().then_some(r.green));
    column!("score", |r: &Report| r.score);
    column!("key_id", |r: &Report| r.key_id.clone());
    column!("report", |r: &Report| r.to_json());
    out.set_item("error", PyList::new(py, rows.iter().map(|r| r.error.clone()))?)?;
    Ok(out)
}

/// Reads a key from the text of a key file (what `Key.load` reads, without a file: the
/// bytes broadcast by the driver, which checked the file's permissions).
#[pyfunction]
#[pyo3(name = "_spark_key_from_file_text")]
pub fn spark_key_from_file_text(text: &str) -> PyResult<PyKey> {
    let key = Key::parse_file(text).map_err(|e| error(Kind::KeyFile, e.to_string()))?;
    Ok(PyKey { key })
}

/// Every unit of a walk, with its score: the sink of the map side.
struct Collect<'a> {
    dedup: Dedup,
    key: u16,
    row: usize,
    /// identity -> index in `out`, for the repeats inside the batch.
    firsts: &'a mut HashMap<(u16, u64), usize>,
    out: &'a mut Units,
}

#[derive(Default)]
struct Units {
    key: Vec<i32>,
    ident: Vec<i64>,
    ctx: Vec<i64>,
    row: Vec<i32>,
    pos: Vec<i32>,
    score: Vec<f64>,
    n: Vec<i64>,
}

impl Sink for Collect<'_> {
    fn admit(&mut self, unit: &Unit<'_>) -> bool {
        // Repeats inside the batch: counted on their first occurrence, never scored.
        if let Some(id) = self.dedup.identity(unit) {
            if let Some(&at) = self.firsts.get(&(self.key, fold(id))) {
                self.out.n[at] += 1;
                return false;
            }
        }
        true
    }

    fn scored(&mut self, unit: &Unit<'_>, score: Score) {
        let o = &mut *self.out;
        let ident = match self.dedup.identity(unit) {
            Some(id) => {
                let f = fold(id);
                self.firsts.insert((self.key, f), o.key.len());
                f as i64
            }
            None => 0,
        };
        o.key.push(i32::from(self.key));
        o.ident.push(ident);
        o.ctx.push(fold(unit.context()) as i64);
        o.row.push(self.row as i32);
        o.pos.push(unit.index() as i32);
        o.score.push(score.value());
        o.n.push(1);
    }
}

/// The radioactivity test's map side over Arrow batches; built once per executor process
/// (see python/wmark/spark.py) from a detector, whose keys, configuration, tokenizer,
/// normalisation and `bos_id` it uses, as `wmark.Radioactivity` does.
#[pyclass(name = "_SparkScan", module = "wmark._wmark", frozen)]
pub struct PySparkScan {
    detector: Py<PyDetector>,
    dedup: Dedup,
}

impl PySparkScan {
    /// Row `i`'s ids, BOS stripped and checked against the vocabulary, or the row's error.
    fn ids(&self, det: &PyDetector, batch: &Batch, i: usize) -> Result<Vec<u32>, String> {
        // Text is normalised and encoded as `wmark radioactive` does (src/input.rs).
        let mut ids = match batch.doc(i)? {
            Doc::Ids(ids) => ids,
            Doc::Text(t) => {
                let tok =
                    det.detector.tokenizer().ok_or("text input needs a tokenizer; give tokenizer=, or token ids")?;
                tok.encode_normalized_ids(&t, &det.detector.options().normalize, CHUNK_BYTES)
                    .map(|(ids, _)| ids)
                    .map_err(|e| e.to_string())?
            }
        };
        if let Some(bos) = det.detector.options().bos_id {
            if ids.first() == Some(&bos) {
                ids.remove(0);
            }
        }
        det.detector.scorer().check_ids(&ids).map_err(|e| e.to_string())?;
        Ok(ids)
    }
}

fn scorer(det: &PyDetector) -> &Scorer {
    det.detector.scorer()
}

#[pymethods]
impl PySparkScan {
    #[new]
    #[pyo3(signature = (detector, dedup = None))]
    fn new(detector: Bound<'_, PyDetector>, dedup: Option<&str>) -> PyResult<Self> {
        let dedup = match dedup {
            Some(d) => parse_dedup(d)?,
            None => detector.get().detector.options().dedup,
        };
        Ok(PySparkScan { detector: detector.unbind(), dedup })
    }

    /// The dedup mode (`none`, `window` or `tuple`).
    #[getter]
    fn dedup(&self) -> String {
        self.dedup.to_string()
    }

    /// Number of keys.
    #[getter]
    fn keys(&self) -> usize {
        scorer(self.detector.get()).keys()
    }

    /// Prompts (`teacher=False`) or teacher documents (`teacher=True`): per row `tokens`
    /// (-1 for a bad row) and `error`; and the distinct (`key`, `ctx`) context fingerprints
    /// of the batch: for a prompt every window of the rule's length (the last one
    /// included), for a teacher document every window followed by a token.
    #[pyo3(signature = (*, teacher, texts = None, values = None, offsets = None, valid = None))]
    fn contexts<'py>(
        &self,
        py: Python<'py>,
        teacher: bool,
        texts: Option<&Bound<'py, PyAny>>,
        values: Option<PyReadonlyArray1<'py, i64>>,
        offsets: Option<PyReadonlyArray1<'py, i64>>,
        valid: Option<PyReadonlyArray1<'py, bool>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let batch = Batch::of(texts, values, offsets, valid)?;
        let det = self.detector.get();
        let (tokens, errors, keys, ctxs) = py.detach(|| {
            let s = scorer(det);
            let need = s.window_len();
            let mut seen = std::collections::HashSet::new();
            let (mut tokens, mut errors, mut keys, mut ctxs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for i in 0..batch.len() {
                match self.ids(det, &batch, i) {
                    Err(e) => {
                        tokens.push(-1i64);
                        errors.push(Some(e));
                    }
                    Ok(ids) => {
                        tokens.push(ids.len() as i64);
                        errors.push(None);
                        let last = if teacher { ids.len().saturating_sub(1) } else { ids.len() };
                        if ids.len() < need {
                            continue;
                        }
                        for k in 0..s.keys() {
                            for end in need..=last {
                                let f = fold(s.context_fp(k, &ids[end - need..end]));
                                if seen.insert((k, f)) {
                                    keys.push(k as i32);
                                    ctxs.push(f as i64);
                                }
                            }
                        }
                    }
                }
            }
            (tokens, errors, keys, ctxs)
        });
        let out = PyDict::new(py);
        out.set_item("tokens", tokens.into_pyarray(py))?;
        out.set_item("error", PyList::new(py, errors)?)?;
        out.set_item("key", keys.into_pyarray(py))?;
        out.set_item("ctx", ctxs.into_pyarray(py))?;
        Ok(out)
    }

    /// Answers: per row `tokens` (-1 for a bad row), `no_context` and `error`; and one unit
    /// per (key, first occurrence in the batch): `key`, `ident` (the folded dedup identity;
    /// 0 without dedup), `ctx` (the folded context fingerprint), `row` (index in the batch),
    /// `pos` (position in the row's ids), `score` (1.0/0.0 for a green bit) and `n` (its
    /// occurrences in the batch, itself included).
    #[pyo3(signature = (*, texts = None, values = None, offsets = None, valid = None))]
    fn answers<'py>(
        &self,
        py: Python<'py>,
        texts: Option<&Bound<'py, PyAny>>,
        values: Option<PyReadonlyArray1<'py, i64>>,
        offsets: Option<PyReadonlyArray1<'py, i64>>,
        valid: Option<PyReadonlyArray1<'py, bool>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let batch = Batch::of(texts, values, offsets, valid)?;
        let det = self.detector.get();
        let dedup = self.dedup;
        let (tokens, no_context, errors, units) = py.detach(|| {
            let s = scorer(det);
            let mut units = Units::default();
            let mut firsts = HashMap::new();
            let mut none = wmark_detect::dedup::ExactSet::new();
            let (mut tokens, mut no_context, mut errors) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..batch.len() {
                match self.ids(det, &batch, i) {
                    Err(e) => {
                        tokens.push(-1i64);
                        no_context.push(0i64);
                        errors.push(Some(e));
                    }
                    Ok(ids) => {
                        tokens.push(ids.len() as i64);
                        no_context.push(s.context_len().min(ids.len()) as i64);
                        errors.push(None);
                        for k in 0..s.keys() {
                            let mut sink =
                                Collect { dedup, key: k as u16, row: i, firsts: &mut firsts, out: &mut units };
                            // Dedup is done by the sink (inside the batch) and by Spark
                            // (across batches): the walk itself scores every admitted unit.
                            s.walk(k, &ids, 0, Dedup::None, &mut none, &mut sink);
                        }
                    }
                }
            }
            (tokens, no_context, errors, units)
        });
        let out = PyDict::new(py);
        out.set_item("tokens", tokens.into_pyarray(py))?;
        out.set_item("no_context", no_context.into_pyarray(py))?;
        out.set_item("error", PyList::new(py, errors)?)?;
        out.set_item("key", units.key.into_pyarray(py))?;
        out.set_item("ident", units.ident.into_pyarray(py))?;
        out.set_item("ctx", units.ctx.into_pyarray(py))?;
        out.set_item("row", units.row.into_pyarray(py))?;
        out.set_item("pos", units.pos.into_pyarray(py))?;
        out.set_item("score", units.score.into_pyarray(py))?;
        out.set_item("n", units.n.into_pyarray(py))?;
        Ok(out)
    }
}

/// One key's totals from the distributed stages, and its first occurrences in corpus order.
#[derive(FromPyObject)]
pub struct KeyTotals {
    /// Scores of the scored units, in corpus order (1.0/0.0 for green bits).
    #[pyo3(item)]
    scores: Vec<f64>,
    /// For each, the answer tokens read up to and including it.
    #[pyo3(item)]
    tokens_at: Vec<u64>,
    #[pyo3(item)]
    excluded_prompt_context: u64,
    #[pyo3(item)]
    filtered_out: u64,
    #[pyo3(item)]
    repeats: u64,
    #[pyo3(item)]
    teacher_contexts: u64,
}

/// Corpus-wide counts from the distributed stages.
#[derive(FromPyObject)]
pub struct CorpusTotals {
    #[pyo3(item)]
    prompts: u64,
    #[pyo3(item)]
    prompt_tokens: u64,
    #[pyo3(item)]
    teacher_documents: u64,
    #[pyo3(item)]
    teacher_tokens: u64,
    #[pyo3(item)]
    answers: u64,
    #[pyo3(item)]
    answer_tokens: u64,
    #[pyo3(item)]
    no_context: u64,
}

/// The driver's end of `wmark.spark.radioactive`: the report `wmark radioactive --json`
/// gives for the same corpus. `keys[k]` holds key k's first occurrences in corpus order;
/// they are tallied one by one (the command line's summation order), with a checkpoint each
/// time the count reaches a power of two and one at the end, then decided with the exact
/// tails over all keys.
#[pyfunction]
#[pyo3(name = "_spark_radioactivity_report", signature = (detector, *, dedup, alpha, teacher_filter, corpus, keys))]
pub fn spark_radioactivity_report(
    py: Python<'_>,
    detector: PyRef<'_, PyDetector>,
    dedup: &str,
    alpha: f64,
    teacher_filter: bool,
    corpus: CorpusTotals,
    keys: Vec<KeyTotals>,
) -> PyResult<PyRadioactivityReport> {
    let dedup = parse_dedup(dedup)?;
    let alpha = check_alpha(alpha)?;
    let s = detector.detector.scorer();
    if keys.len() != s.keys() {
        return Err(error(Kind::Input, format!("{} key totals for {} keys", keys.len(), s.keys())));
    }
    if let Some(k) = keys.iter().find(|k| k.scores.len() != k.tokens_at.len()) {
        return Err(error(Kind::Input, format!("{} scores but {} positions", k.scores.len(), k.tokens_at.len())));
    }
    let kind = s.kind();
    let green_bits = kind.has_green_bits();
    let report = py.detach(|| {
        let mut tallies = Vec::with_capacity(keys.len());
        let mut checkpoints = Vec::with_capacity(keys.len());
        for k in &keys {
            let mut tally = Tally::default();
            let mut cps = Vec::new();
            for (&v, &at) in k.scores.iter().zip(&k.tokens_at) {
                tally.add(if green_bits { Score::Green(v != 0.0) } else { Score::Value(v) });
                if tally.scored.is_power_of_two() {
                    cps.push(Checkpoint {
                        tokens: at,
                        scored: tally.scored,
                        green: tally.green,
                        score: (!green_bits).then_some(tally.sum),
                        log10_p: kind.tail_log10(&tally),
                    });
                }
            }
            let last = cps.last().map(|c: &Checkpoint| (c.tokens, c.scored));
            if last != Some((corpus.answer_tokens, tally.scored)) {
                cps.push(Checkpoint {
                    tokens: corpus.answer_tokens,
                    scored: tally.scored,
                    green: tally.green,
                    score: (!green_bits).then_some(tally.sum),
                    log10_p: kind.tail_log10(&tally),
                });
            }
            tallies.push(tally);
            checkpoints.push(cps);
        }
        let decision = decide(kind, &tallies, alpha);
        let verdict = match decision.outcome {
            Outcome::Insufficient => RadioactivityVerdict::Insufficient,
            Outcome::Significant => RadioactivityVerdict::Radioactive,
            Outcome::NotSignificant => RadioactivityVerdict::NotRadioactive,
        };
        let results = keys
            .iter()
            .zip(&tallies)
            .zip(&decision.tails)
            .enumerate()
            .map(|(i, ((k, t), &tail))| RadioactivityKeyResult {
                key_id: s.key_id(i).to_string(),
                scored: t.scored,
                green: t.green,
                green_fraction: t.green_fraction().filter(|_| green_bits),
                score: (!green_bits).then_some(t.sum),
                log10_p: tail,
                excluded_prompt_context: k.excluded_prompt_context,
                filtered_out: k.filtered_out,
                repeats: k.repeats,
                teacher_contexts: k.teacher_contexts,
            })
            .collect();
        let best = decision.best;
        let (b, t) = (&keys[best], &tallies[best]);
        RadioactivityReport {
            schema_version: RADIOACTIVITY_SCHEMA_VERSION,
            scheme: s.config().seeding().to_string(),
            key_id: s.key_id(best).to_string(),
            gamma_effective: if green_bits { s.config().gamma_effective() } else { 0.0 },
            dedup,
            alpha,
            teacher_filter,
            prompts: corpus.prompts,
            prompt_tokens: corpus.prompt_tokens,
            teacher_documents: corpus.teacher_documents,
            teacher_tokens: corpus.teacher_tokens,
            answers: corpus.answers,
            answer_tokens: corpus.answer_tokens,
            no_context: corpus.no_context,
            scored: t.scored,
            green: t.green,
            green_fraction: t.green_fraction().filter(|_| green_bits),
            score: (!green_bits).then_some(t.sum),
            log10_p: decision.log10_p,
            p_value: 10f64.powf(decision.log10_p),
            z: kind.z(t),
            excluded_prompt_context: b.excluded_prompt_context,
            filtered_out: b.filtered_out,
            repeats: b.repeats,
            keys: results,
            checkpoints: std::mem::take(&mut checkpoints[best]),
            verdict,
        }
    });
    PyRadioactivityReport::new(py, report)
}
