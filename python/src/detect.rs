//! `wmark.Detector`, `wmark.Report` and `wmark.RadioactivityReport`: wmark-detect from
//! Python. Reports keep the Rust value: `to_json()` is the serialisation the command line
//! prints (without its `source` field), `to_dict()` is that JSON parsed.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use rayon::prelude::*;
use serde::Serialize;
use wmark_core::Key;
use wmark_detect::normalize::{normalize, Options as NormalizeOptions};
use wmark_detect::radioactive::{Radioactivity, RadioactivityOptions, RadioactivityReport};
use wmark_detect::{Dedup, Detector, Options, Report, TextTokenizer};

use crate::core::{keys_of, PyConfig};
use crate::errors::{self, error, Kind};
use crate::ids;

/// A value as Python objects, through its JSON form (the exact doubles survive: JSON numbers
/// are printed shortest-round-trip and Python parses them back to the same double).
fn to_py<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_string(value).map_err(|e| error(Kind::Input, e.to_string()))?;
    py.import("json")?.call_method1("loads", (json,))
}

fn enum_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// The result of testing one text: the same content as a line of `wmark detect --json`.
#[pyclass(name = "Report", module = "wmark", frozen)]
pub struct PyReport {
    report: Report,
}

#[pymethods]
impl PyReport {
    #[getter]
    fn schema_version(&self) -> u32 {
        self.report.schema_version
    }
    #[getter]
    fn scheme(&self) -> &str {
        &self.report.scheme
    }
    #[getter]
    fn key_id(&self) -> &str {
        &self.report.key_id
    }
    #[getter]
    fn gamma_effective(&self) -> f64 {
        self.report.gamma_effective
    }
    #[getter]
    fn tokens(&self) -> u64 {
        self.report.tokens
    }
    #[getter]
    fn scored(&self) -> u64 {
        self.report.scored
    }
    #[getter]
    fn green(&self) -> u64 {
        self.report.green
    }
    #[getter]
    fn p_value(&self) -> f64 {
        self.report.p_value
    }
    #[getter]
    fn log10_p(&self) -> f64 {
        self.report.log10_p
    }
    #[getter]
    fn z(&self) -> Option<f64> {
        self.report.z
    }
    #[getter]
    fn alpha(&self) -> f64 {
        self.report.alpha
    }
    /// `watermarked`, `not_watermarked` or `insufficient`.
    #[getter]
    fn verdict(&self) -> String {
        enum_name(&self.report.verdict)
    }
    #[getter]
    fn dedup(&self) -> String {
        self.report.dedup.to_string()
    }
    #[getter]
    fn normalized(&self) -> bool {
        self.report.normalized
    }
    #[getter]
    fn spans<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.spans)
    }
    #[getter]
    fn token_flags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.token_flags)
    }
    #[getter]
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.keys)
    }

    /// The report as one line of JSON (docs/report-format.md).
    fn to_json(&self) -> String {
        self.report.to_json()
    }

    /// The report as a dict: `json.loads(self.to_json())`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyReport>().is_ok_and(|o| o.get().report == self.report)
    }

    fn __repr__(&self) -> String {
        format!(
            "Report(verdict='{}', log10_p={:.3}, green={}, scored={}, key_id='{}')",
            self.verdict(),
            self.report.log10_p,
            self.report.green,
            self.report.scored,
            self.report.key_id
        )
    }
}

/// The result of a corpus radioactivity test: the content of `wmark radioactive --json`.
#[pyclass(name = "RadioactivityReport", module = "wmark", frozen)]
pub struct PyRadioactivityReport {
    report: RadioactivityReport,
}

#[pymethods]
impl PyRadioactivityReport {
    #[getter]
    fn schema_version(&self) -> u32 {
        self.report.schema_version
    }
    #[getter]
    fn scheme(&self) -> &str {
        &self.report.scheme
    }
    #[getter]
    fn key_id(&self) -> &str {
        &self.report.key_id
    }
    #[getter]
    fn gamma_effective(&self) -> f64 {
        self.report.gamma_effective
    }
    #[getter]
    fn dedup(&self) -> String {
        self.report.dedup.to_string()
    }
    #[getter]
    fn alpha(&self) -> f64 {
        self.report.alpha
    }
    #[getter]
    fn teacher_filter(&self) -> bool {
        self.report.teacher_filter
    }
    #[getter]
    fn prompts(&self) -> u64 {
        self.report.prompts
    }
    #[getter]
    fn prompt_tokens(&self) -> u64 {
        self.report.prompt_tokens
    }
    #[getter]
    fn teacher_documents(&self) -> u64 {
        self.report.teacher_documents
    }
    #[getter]
    fn teacher_tokens(&self) -> u64 {
        self.report.teacher_tokens
    }
    #[getter]
    fn answers(&self) -> u64 {
        self.report.answers
    }
    #[getter]
    fn answer_tokens(&self) -> u64 {
        self.report.answer_tokens
    }
    #[getter]
    fn no_context(&self) -> u64 {
        self.report.no_context
    }
    #[getter]
    fn scored(&self) -> u64 {
        self.report.scored
    }
    #[getter]
    fn green(&self) -> u64 {
        self.report.green
    }
    #[getter]
    fn green_fraction(&self) -> Option<f64> {
        self.report.green_fraction
    }
    #[getter]
    fn log10_p(&self) -> f64 {
        self.report.log10_p
    }
    #[getter]
    fn p_value(&self) -> f64 {
        self.report.p_value
    }
    #[getter]
    fn z(&self) -> Option<f64> {
        self.report.z
    }
    #[getter]
    fn excluded_prompt_context(&self) -> u64 {
        self.report.excluded_prompt_context
    }
    #[getter]
    fn filtered_out(&self) -> u64 {
        self.report.filtered_out
    }
    #[getter]
    fn repeats(&self) -> u64 {
        self.report.repeats
    }
    #[getter]
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.keys)
    }
    #[getter]
    fn checkpoints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report.checkpoints)
    }
    /// `radioactive`, `not_radioactive` or `insufficient`.
    #[getter]
    fn verdict(&self) -> String {
        enum_name(&self.report.verdict)
    }

    /// The report as one JSON object (what `wmark radioactive --json` prints).
    fn to_json(&self) -> String {
        self.report.to_json()
    }

    /// The report as a dict: `json.loads(self.to_json())`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.report)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyRadioactivityReport>().is_ok_and(|o| o.get().report == self.report)
    }

    fn __repr__(&self) -> String {
        format!(
            "RadioactivityReport(verdict='{}', log10_p={:.3}, green={}, scored={}, key_id='{}')",
            self.verdict(),
            self.report.log10_p,
            self.report.green,
            self.report.scored,
            self.report.key_id
        )
    }
}

/// One document, converted while the GIL is held.
enum Doc {
    Text(String),
    Ids(Vec<u32>),
}

fn doc_of(obj: &Bound<'_, PyAny>) -> PyResult<Doc> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Doc::Text(s.to_cow()?.into_owned()));
    }
    Ok(Doc::Ids(ids::ids(obj)?))
}

fn parse_dedup(s: &str) -> PyResult<Dedup> {
    s.parse().map_err(|e: wmark_detect::Error| error(Kind::Config, e.to_string()))
}

fn check_alpha(alpha: f64) -> PyResult<f64> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(error(Kind::Config, format!("alpha must be strictly between 0 and 1, got {alpha}")));
    }
    Ok(alpha)
}

/// Tests texts or token ids against one or more keys sharing one configuration.
#[pyclass(name = "Detector", module = "wmark", frozen)]
pub struct PyDetector {
    detector: Detector,
    keys: Vec<Key>,
    config: PyConfig,
}

impl PyDetector {
    fn run(&self, doc: &Doc, prompt: Option<&Doc>) -> Result<Report, wmark_detect::Error> {
        match (doc, prompt) {
            (Doc::Text(t), None) => self.detector.detect_text(t, None),
            (Doc::Text(t), Some(Doc::Text(p))) => self.detector.detect_text(t, Some(p)),
            (Doc::Ids(ids), None) => self.detector.detect_ids(ids, 0),
            (Doc::Ids(ids), Some(Doc::Ids(p))) => {
                let mut all = Vec::with_capacity(p.len() + ids.len());
                all.extend_from_slice(p);
                all.extend_from_slice(ids);
                self.detector.detect_ids(&all, p.len())
            }
            _ => unreachable!("checked by the caller"),
        }
    }

    fn normalize_options(&self) -> NormalizeOptions {
        self.detector.options().normalize
    }

    /// Token ids of a radioactivity document, text normalised and encoded as the command
    /// line does.
    fn corpus_ids(&self, doc: Doc) -> Result<Vec<u32>, PyErr> {
        match doc {
            Doc::Ids(ids) => Ok(ids),
            Doc::Text(t) => {
                let tok = self
                    .detector
                    .tokenizer()
                    .ok_or_else(|| error(Kind::Input, "text input needs a tokenizer; give Detector(tokenizer=...), or give token ids"))?;
                let norm = normalize(&t, &self.normalize_options());
                Ok(tok.encode(norm.text()).map_err(errors::detect)?.ids)
            }
        }
    }
}

fn docs_of(list: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<Doc>> {
    if list.is_instance_of::<PyString>() {
        return Err(error(Kind::Input, format!("{what} must be a list of documents, not one string")));
    }
    let mut out = Vec::new();
    for item in list.try_iter().map_err(|_| error(Kind::Input, format!("{what} must be a list of documents")))? {
        out.push(doc_of(&item?)?);
    }
    Ok(out)
}

#[pymethods]
impl PyDetector {
    /// `keys`: one `Key` or several (accounts: the best is reported, its p-value corrected
    /// for the number of keys). `tokenizer`: a Hugging Face tokenizer.json for text input.
    #[new]
    #[pyo3(signature = (config, keys, *, tokenizer = None, dedup = "tuple", alpha = 1e-6, windows = false, token_flags = false, bos_id = None, normalize = true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        config: PyRef<'_, PyConfig>,
        keys: &Bound<'_, PyAny>,
        tokenizer: Option<PathBuf>,
        dedup: &str,
        alpha: f64,
        windows: bool,
        token_flags: bool,
        bos_id: Option<u32>,
        normalize: bool,
    ) -> PyResult<PyDetector> {
        let keys = keys_of(keys)?;
        let options = Options {
            dedup: parse_dedup(dedup)?,
            alpha: check_alpha(alpha)?,
            windows,
            token_flags,
            normalize: if normalize { NormalizeOptions::default() } else { NormalizeOptions::none() },
            bos_id,
        };
        let mut detector = Detector::new(&keys, config.config, options).map_err(errors::detect)?;
        if let Some(path) = tokenizer {
            let t = TextTokenizer::from_file(&path).map_err(errors::detect)?;
            detector = detector.with_tokenizer(t).map_err(errors::detect)?;
        }
        Ok(PyDetector { detector, keys, config: config.clone() })
    }

    #[getter]
    fn config(&self) -> PyConfig {
        self.config.clone()
    }

    /// The ids of the keys tested, in order.
    #[getter]
    fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.id().to_string()).collect()
    }

    /// The tokenizer's vocabulary size, if a tokenizer was given.
    #[getter]
    fn tokenizer_vocab_size(&self) -> Option<usize> {
        self.detector.tokenizer().map(|t| t.vocab_size())
    }

    /// Tests one text (`text=`, needs a tokenizer) or token ids (`ids=`). `prompt` (text, or
    /// ids with `ids=`) gives context to the first tokens and is not scored.
    #[pyo3(signature = (text = None, *, ids = None, prompt = None))]
    fn detect(
        &self,
        py: Python<'_>,
        text: Option<&Bound<'_, PyAny>>,
        ids: Option<&Bound<'_, PyAny>>,
        prompt: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyReport> {
        let doc = match (text, ids) {
            (Some(t), None) => Doc::Text(
                t.cast::<PyString>()
                    .map_err(|_| error(Kind::Input, "text must be a str; give token ids with ids="))?
                    .to_cow()?
                    .into_owned(),
            ),
            (None, Some(i)) => Doc::Ids(ids::ids(i)?),
            _ => return Err(error(Kind::Input, "give exactly one of text= and ids=")),
        };
        let prompt = match (prompt, &doc) {
            (None, _) => None,
            (Some(p), Doc::Text(_)) => Some(Doc::Text(
                p.cast::<PyString>().map_err(|_| error(Kind::Input, "with text=, the prompt must be a str"))?.to_cow()?.into_owned(),
            )),
            (Some(p), Doc::Ids(_)) => Some(Doc::Ids(ids::ids(p)?)),
        };
        let report = py.detach(|| self.run(&doc, prompt.as_ref())).map_err(errors::detect)?;
        Ok(PyReport { report })
    }

    /// Tests many documents in parallel (rayon, GIL released): `texts` (a list of str) or
    /// `ids` (a list of id sequences). `threads`: how many threads (default: every core,
    /// or RAYON_NUM_THREADS). The first failing document raises, naming its index.
    #[pyo3(signature = (texts = None, *, ids = None, threads = None))]
    fn detect_batch(
        &self,
        py: Python<'_>,
        texts: Option<&Bound<'_, PyAny>>,
        ids: Option<&Bound<'_, PyAny>>,
        threads: Option<usize>,
    ) -> PyResult<Py<PyList>> {
        let docs: Vec<Doc> = match (texts, ids) {
            (Some(t), None) => {
                let docs = docs_of(t, "texts")?;
                if docs.iter().any(|d| matches!(d, Doc::Ids(_))) {
                    return Err(error(Kind::Input, "texts must be a list of str; give token ids with ids="));
                }
                docs
            }
            (None, Some(i)) => {
                if i.is_instance_of::<PyString>() {
                    return Err(error(Kind::Input, "ids must be a list of id sequences"));
                }
                let mut out = Vec::new();
                for item in i.try_iter().map_err(|_| error(Kind::Input, "ids must be a list of id sequences"))? {
                    out.push(Doc::Ids(ids::ids(&item?)?));
                }
                out
            }
            _ => return Err(error(Kind::Input, "give exactly one of texts= and ids=")),
        };
        if threads == Some(0) {
            return Err(error(Kind::Config, "threads must be at least 1"));
        }
        let results: Vec<Result<Report, wmark_detect::Error>> = py.detach(|| {
            let work = || docs.par_iter().map(|d| self.run(d, None)).collect();
            match threads {
                Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
                    Ok(pool) => pool.install(work),
                    Err(_) => work(),
                },
                None => work(),
            }
        });
        let mut reports = Vec::with_capacity(results.len());
        for (i, r) in results.into_iter().enumerate() {
            let report = r.map_err(|e| errors::detect_in(e, Some(&format!("document {i}"))))?;
            reports.push(Py::new(py, PyReport { report })?);
        }
        Ok(PyList::new(py, reports)?.unbind())
    }

    /// The corpus radioactivity test (`wmark radioactive`): all `answers` of a suspect model
    /// as one stream with one dedup tape; contexts seen in `prompts` are not scored; with
    /// `teacher` (the provider's own watermarked texts) only answer tuples whose context
    /// occurs there are scored. Documents are str (needs a tokenizer) or id sequences.
    /// `dedup` and `alpha` default to the detector's.
    #[pyo3(signature = (answers, *, prompts = None, teacher = None, dedup = None, alpha = None))]
    fn radioactive(
        &self,
        py: Python<'_>,
        answers: &Bound<'_, PyAny>,
        prompts: Option<&Bound<'_, PyAny>>,
        teacher: Option<&Bound<'_, PyAny>>,
        dedup: Option<&str>,
        alpha: Option<f64>,
    ) -> PyResult<PyRadioactivityReport> {
        let answers = docs_of(answers, "answers")?;
        let prompts = prompts.map(|p| docs_of(p, "prompts")).transpose()?.unwrap_or_default();
        let teacher_docs = teacher.map(|t| docs_of(t, "teacher")).transpose()?;
        let options = RadioactivityOptions {
            dedup: match dedup {
                Some(d) => parse_dedup(d)?,
                None => self.detector.options().dedup,
            },
            alpha: check_alpha(alpha.unwrap_or(self.detector.options().alpha))?,
            teacher_filter: teacher_docs.is_some(),
            bos_id: self.detector.options().bos_id,
        };
        let config = self.config.config;
        let report = py.detach(|| -> PyResult<RadioactivityReport> {
            let mut test = Radioactivity::new(&self.keys, config, options).map_err(errors::detect)?;
            for (i, d) in prompts.into_iter().enumerate() {
                let ids = self.corpus_ids(d)?;
                test.add_prompt(&ids).map_err(|e| errors::detect_in(e, Some(&format!("prompt {i}"))))?;
            }
            for (i, d) in teacher_docs.into_iter().flatten().enumerate() {
                let ids = self.corpus_ids(d)?;
                test.add_teacher(&ids).map_err(|e| errors::detect_in(e, Some(&format!("teacher document {i}"))))?;
            }
            for (i, d) in answers.into_iter().enumerate() {
                let ids = self.corpus_ids(d)?;
                test.add_answer(&ids).map_err(|e| errors::detect_in(e, Some(&format!("answer {i}"))))?;
            }
            Ok(test.finish())
        })?;
        Ok(PyRadioactivityReport { report })
    }

    fn __repr__(&self) -> String {
        format!("Detector(config={}, key_ids={:?})", self.config.config.seeding(), self.key_ids())
    }
}
