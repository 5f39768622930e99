//! `wmark.Detector`: wmark-detect from Python (the reports are in report.rs, the streaming
//! radioactivity test in radioactive.rs).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use rayon::prelude::*;
use rayon::ThreadPool;
use wmark_core::Key;
use wmark_detect::normalize::{normalize, Options as NormalizeOptions};
use wmark_detect::{Dedup, Detector, Options, Report, TextTokenizer};

use crate::core::{keys_of, PyConfig};
use crate::errors::{self, error, Kind};
use crate::ids;
use crate::radioactive;
use crate::report::{PyRadioactivityReport, PyReport};

/// One document, converted while the GIL is held.
pub enum Doc {
    Text(String),
    Ids(Vec<u32>),
}

pub fn doc_of(obj: &Bound<'_, PyAny>) -> PyResult<Doc> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Doc::Text(s.to_cow()?.into_owned()));
    }
    Ok(Doc::Ids(ids::ids(obj)?))
}

pub fn parse_dedup(s: &str) -> PyResult<Dedup> {
    s.parse().map_err(|e: wmark_detect::Error| error(Kind::Config, e.to_string()))
}

pub fn check_alpha(alpha: f64) -> PyResult<f64> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(error(Kind::Config, format!("alpha must be strictly between 0 and 1, got {alpha}")));
    }
    Ok(alpha)
}

/// The most threads `detect_batch(threads=n)` starts: far more than any machine's cores,
/// far fewer than the thousands that take seconds to start and stay for the process's life.
const MAX_THREADS: usize = 256;

/// At most this many thread pools are kept for `detect_batch(threads=n)`, one per `n`;
/// another count gets a pool for the call only.
const CACHED_POOLS: usize = 8;

/// The rayon pool of `threads` threads, built on first use and kept for the life of the
/// process (building one starts `threads` threads: too slow to do on every call). `None` if
/// the pool cannot be built: the work then runs on the global pool.
fn pool(threads: usize) -> Option<Arc<ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&threads) {
        return Some(p.clone());
    }
    let p = Arc::new(rayon::ThreadPoolBuilder::new().num_threads(threads).build().ok()?);
    if pools.len() < CACHED_POOLS {
        pools.insert(threads, p.clone());
    }
    Some(p)
}

/// Tests texts or token ids against one or more keys sharing one configuration.
#[pyclass(name = "Detector", module = "wmark", frozen)]
pub struct PyDetector {
    pub detector: Detector,
    pub keys: Vec<Key>,
    pub config: PyConfig,
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
    pub fn corpus_ids(&self, doc: Doc) -> Result<Vec<u32>, PyErr> {
        match doc {
            Doc::Ids(ids) => Ok(ids),
            Doc::Text(t) => {
                let tok = self.detector.tokenizer().ok_or_else(|| {
                    error(Kind::Input, "text input needs a tokenizer; give Detector(tokenizer=...), or give token ids")
                })?;
                let norm = normalize(&t, &self.normalize_options());
                tok.encode_ids(norm.text()).map_err(errors::detect)
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
    #[pyo3(signature = (config, keys, *, tokenizer = None, dedup = None, alpha = 1e-6, windows = false, token_flags = false, bos_id = None, normalize = true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        config: PyRef<'_, PyConfig>,
        keys: &Bound<'_, PyAny>,
        tokenizer: Option<PathBuf>,
        dedup: Option<&str>,
        alpha: f64,
        windows: bool,
        token_flags: bool,
        bos_id: Option<u32>,
        normalize: bool,
    ) -> PyResult<PyDetector> {
        let keys = keys_of(keys)?;
        let options = Options {
            dedup: match dedup {
                Some(d) => parse_dedup(d)?,
                None => Dedup::default_for(&config.config),
            },
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
    pub fn key_ids(&self) -> Vec<String> {
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
                p.cast::<PyString>()
                    .map_err(|_| error(Kind::Input, "with text=, the prompt must be a str"))?
                    .to_cow()?
                    .into_owned(),
            )),
            (Some(p), Doc::Ids(_)) => Some(Doc::Ids(ids::ids(p)?)),
        };
        let report = py.detach(|| self.run(&doc, prompt.as_ref())).map_err(errors::detect)?;
        PyReport::new(py, report)
    }

    /// Tests many documents in parallel (rayon, GIL released): `texts` (a list of str) or
    /// `ids` (a list of id sequences). `threads`: how many threads (default: rayon's global
    /// pool, every core or RAYON_NUM_THREADS); the pool of `threads` threads is built on the
    /// first call and reused. The first failing document raises, naming its index.
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
        if let Some(n) = threads {
            if !(1..=MAX_THREADS).contains(&n) {
                return Err(error(Kind::Config, format!("threads must be between 1 and {MAX_THREADS}, got {n}")));
            }
        }
        let results: Vec<Result<Report, wmark_detect::Error>> = py.detach(|| {
            let work = || docs.par_iter().map(|d| self.run(d, None)).collect();
            match threads.and_then(pool) {
                Some(pool) => pool.install(work),
                None => work(),
            }
        });
        let mut reports = Vec::with_capacity(results.len());
        for (i, r) in results.into_iter().enumerate() {
            let report = r.map_err(|e| errors::detect_in(e, Some(&format!("document {i}"))))?;
            reports.push(Py::new(py, PyReport::new(py, report)?)?);
        }
        Ok(PyList::new(py, reports)?.unbind())
    }

    /// The corpus radioactivity test (`wmark radioactive`): all `answers` of a suspect model
    /// as one stream with one dedup tape; contexts seen in `prompts` are not scored; with
    /// `teacher` (the provider's own watermarked texts) only answer tuples whose context
    /// occurs there are scored. Documents are str (needs a tokenizer) or id sequences.
    /// `dedup` and `alpha` default to the detector's. The same as `wmark.Radioactivity`
    /// fed every prompt, teacher document and answer in turn, in one call without the GIL.
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
        let teacher = teacher.map(|t| docs_of(t, "teacher")).transpose()?;
        radioactive::batch(self, py, answers, prompts, teacher, dedup, alpha)
    }

    fn __repr__(&self) -> String {
        format!("Detector(config={}, key_ids={:?})", self.config.config.seeding(), self.key_ids())
    }
}
