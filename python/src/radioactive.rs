//! `wmark.Radioactivity`: the streaming corpus radioactivity test
//! (wmark_detect::radioactive::Radioactivity) from Python, one document per call, the GIL
//! released while a document is encoded and scored. `Detector.radioactive` is the same test
//! over whole lists of documents.

use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use wmark_detect::radioactive::{Radioactivity, RadioactivityOptions, RadioactivityReport};

use crate::detect::{check_alpha, doc_of, parse_dedup, Doc, PyDetector};
use crate::errors::{self, error, Kind};
use crate::report::PyRadioactivityReport;

/// The three kinds of corpus document.
#[derive(Clone, Copy)]
pub enum Part {
    Prompt,
    Teacher,
    Answer,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Prompt => "prompt",
            Part::Teacher => "teacher document",
            Part::Answer => "answer",
        }
    }
}

/// A new test of the detector's keys and configuration; `dedup` and `alpha` default to the
/// detector's.
pub fn start(
    det: &PyDetector,
    teacher_filter: bool,
    dedup: Option<&str>,
    alpha: Option<f64>,
) -> PyResult<Radioactivity> {
    let defaults = det.detector.options();
    let options = RadioactivityOptions {
        dedup: match dedup {
            Some(d) => parse_dedup(d)?,
            None => defaults.dedup,
        },
        alpha: check_alpha(alpha.unwrap_or(defaults.alpha))?,
        teacher_filter,
        bos_id: defaults.bos_id,
    };
    Radioactivity::new(&det.keys, det.config.config, options).map_err(errors::detect)
}

/// Adds one document (text is normalised and encoded with the detector's tokenizer, as the
/// command line does). `index`, if given, names the document in an error message
/// (`answer 3: ...`). Runs without the GIL.
pub fn add(det: &PyDetector, test: &mut Radioactivity, part: Part, doc: Doc, index: Option<usize>) -> PyResult<()> {
    let ids = det.corpus_ids(doc)?;
    match part {
        Part::Prompt => test.add_prompt(&ids),
        Part::Teacher => test.add_teacher(&ids),
        Part::Answer => test.add_answer(&ids),
    }
    .map_err(|e| errors::detect_in(e, index.map(|i| format!("{} {i}", part.name())).as_deref()))
}

/// The corpus radioactivity test, one document at a time, as `wmark radioactive` reads its
/// files: first every prompt (its contexts are not scored in the answers) and, with
/// `teacher_filter=True`, every teacher document (the provider's own watermarked texts: only
/// answer tuples whose context occurs there are scored), then the answers of the suspect
/// model, as one stream with one dedup tape. `finish()` decides and returns the report; the
/// object cannot be used after it. Documents are str (needs the detector's tokenizer) or
/// token ids. The keys, configuration, tokenizer, normalisation and `bos_id` are the
/// detector's; `dedup` and `alpha` default to the detector's.
#[pyclass(name = "Radioactivity", module = "wmark", frozen)]
pub struct PyRadioactivity {
    detector: Py<PyDetector>,
    /// `None` once finished.
    test: Mutex<Option<Radioactivity>>,
}

impl PyRadioactivity {
    /// The test, locked; an error once finished. Called without the GIL, so a thread waiting
    /// for the lock never holds the GIL another thread needs.
    fn lock(&self) -> PyResult<MutexGuard<'_, Option<Radioactivity>>> {
        let guard = self.test.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            return Err(error(
                Kind::Input,
                "this Radioactivity test is finished: finish() was called; start a new one",
            ));
        }
        Ok(guard)
    }

    fn add_doc(&self, py: Python<'_>, part: Part, doc: &Bound<'_, PyAny>) -> PyResult<()> {
        let doc = doc_of(doc)?;
        let det = self.detector.get();
        py.detach(|| {
            let mut guard = self.lock()?;
            let test = guard.as_mut().expect("checked by lock");
            add(det, test, part, doc, None)
        })
    }

    fn read(&self, py: Python<'_>, f: impl FnOnce(&Radioactivity) -> usize + Send) -> PyResult<usize> {
        py.detach(|| Ok(f(self.lock()?.as_ref().expect("checked by lock"))))
    }
}

#[pymethods]
impl PyRadioactivity {
    #[new]
    #[pyo3(signature = (detector, *, teacher_filter = false, dedup = None, alpha = None))]
    fn new(
        detector: Bound<'_, PyDetector>,
        teacher_filter: bool,
        dedup: Option<&str>,
        alpha: Option<f64>,
    ) -> PyResult<Self> {
        let test = start(detector.get(), teacher_filter, dedup, alpha)?;
        Ok(PyRadioactivity { detector: detector.unbind(), test: Mutex::new(Some(test)) })
    }

    /// Adds a prompt: its contexts are not scored in the answers. Before the first answer.
    fn add_prompt(&self, py: Python<'_>, doc: &Bound<'_, PyAny>) -> PyResult<()> {
        self.add_doc(py, Part::Prompt, doc)
    }

    /// Adds a teacher document to the filter (needs `teacher_filter=True`). Before the first
    /// answer.
    fn add_teacher(&self, py: Python<'_>, doc: &Bound<'_, PyAny>) -> PyResult<()> {
        self.add_doc(py, Part::Teacher, doc)
    }

    /// Scores one answer of the suspect model, continuing the corpus-wide dedup tape.
    fn add_answer(&self, py: Python<'_>, doc: &Bound<'_, PyAny>) -> PyResult<()> {
        self.add_doc(py, Part::Answer, doc)
    }

    /// Ends the corpus and decides: the report `Detector.radioactive` gives for the same
    /// documents. The test is over: any further call raises `InputError`.
    fn finish(&self, py: Python<'_>) -> PyResult<PyRadioactivityReport> {
        let report = py.detach(|| -> PyResult<RadioactivityReport> {
            let test = self.lock()?.take().expect("checked by lock");
            Ok(test.finish())
        })?;
        PyRadioactivityReport::new(py, report)
    }

    /// Fingerprints remembered so far, over every key and every set.
    #[getter]
    fn units(&self, py: Python<'_>) -> PyResult<usize> {
        self.read(py, Radioactivity::units)
    }

    /// Heap bytes held by the fingerprint sets.
    #[getter]
    fn memory_bytes(&self, py: Python<'_>) -> PyResult<usize> {
        self.read(py, Radioactivity::memory_bytes)
    }

    /// True once `finish()` was called.
    #[getter]
    fn finished(&self, py: Python<'_>) -> bool {
        py.detach(|| self.test.lock().unwrap_or_else(|e| e.into_inner()).is_none())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let det = self.detector.get();
        format!(
            "Radioactivity(config={}, key_ids={:?}, finished={})",
            det.config.config.seeding(),
            det.key_ids(),
            if self.finished(py) { "True" } else { "False" }
        )
    }
}

/// `Detector.radioactive`: the streaming test over whole lists, every document converted
/// first (a bad one raises before any work), then all of them scored in one call without
/// the GIL; an error names the failing document (`answer 3: ...`).
pub fn batch(
    det: &PyDetector,
    py: Python<'_>,
    answers: Vec<Doc>,
    prompts: Vec<Doc>,
    teacher: Option<Vec<Doc>>,
    dedup: Option<&str>,
    alpha: Option<f64>,
) -> PyResult<PyRadioactivityReport> {
    let mut test = start(det, teacher.is_some(), dedup, alpha)?;
    let parts = [(Part::Prompt, prompts), (Part::Teacher, teacher.unwrap_or_default()), (Part::Answer, answers)];
    let report = py.detach(|| -> PyResult<RadioactivityReport> {
        for (part, docs) in parts {
            for (i, doc) in docs.into_iter().enumerate() {
                add(det, &mut test, part, doc, Some(i))?;
            }
        }
        Ok(test.finish())
    })?;
    PyRadioactivityReport::new(py, report)
}
