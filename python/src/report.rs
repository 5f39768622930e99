//! `wmark.Report` and `wmark.RadioactivityReport`: the Rust reports as frozen Python objects.
//!
//! Each attribute is a field of the class, converted once from the Rust report when the
//! object is made, and read through a getter pyo3 generates (`#[pyo3(get)]`). The object
//! also keeps the Rust report: `to_json()` is its serialisation (what the command line
//! prints, without its `source` field), `to_dict()` that JSON parsed, `==` compares it.

use pyo3::prelude::*;
use pyo3::types::PyList;
use serde::Serialize;
use wmark_detect::radioactive::{RadioactivityReport, RadioactivityVerdict};
use wmark_detect::{Dedup, Report, Verdict};

use crate::errors::{error, Kind};

/// A value as Python objects, through its JSON form (the exact doubles survive: JSON numbers
/// are printed shortest-round-trip and Python parses them back to the same double).
fn to_py<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_string(value).map_err(|e| error(Kind::Input, e.to_string()))?;
    py.import("json")?.call_method1("loads", (json,))
}

/// A report field as the value of its Python attribute: numbers, strings and flags as they
/// are, enums as their JSON names, lists of records as lists of dicts (as in `to_dict()`).
trait Attr<T> {
    fn attr(&self, py: Python<'_>) -> PyResult<T>;
}

impl<T: Clone> Attr<T> for T {
    fn attr(&self, _py: Python<'_>) -> PyResult<T> {
        Ok(self.clone())
    }
}

/// Enums by their JSON names (`watermarked`, `tuple`, ...).
macro_rules! attr_by_name {
    ($($t:ty),*) => {$(
        impl Attr<String> for $t {
            fn attr(&self, _py: Python<'_>) -> PyResult<String> {
                match serde_json::to_value(self) {
                    Ok(serde_json::Value::String(s)) => Ok(s),
                    other => Err(error(Kind::Input, format!("{other:?} is not a name"))),
                }
            }
        }
    )*};
}
attr_by_name!(Verdict, RadioactivityVerdict, Dedup);

impl<T: Serialize> Attr<Py<PyList>> for Vec<T> {
    fn attr(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        if self.is_empty() {
            return Ok(PyList::empty(py).unbind());
        }
        Ok(to_py(py, self)?.cast_into::<PyList>()?.unbind())
    }
}

impl<T: Serialize> Attr<Option<Py<PyList>>> for Option<Vec<T>> {
    fn attr(&self, py: Python<'_>) -> PyResult<Option<Py<PyList>>> {
        self.as_ref().map(|v| v.attr(py)).transpose()
    }
}

/// A frozen report class over the Rust report `$rust`: one generated getter per listed
/// field (the Rust field of the same name, converted once by [`Attr`]), `to_json()`,
/// `to_dict()`, `==` and a short `repr`.
macro_rules! report_class {
    (
        $(#[$doc:meta])* $class:ident = $name:literal over $rust:ty;
        $($(#[$fdoc:meta])* $field:ident: $ty:ty,)*
    ) => {
        $(#[$doc])*
        #[pyclass(name = $name, module = "wmark", frozen)]
        pub struct $class {
            $($(#[$fdoc])* #[pyo3(get)] $field: $ty,)*
            report: $rust,
        }

        impl $class {
            pub fn new(py: Python<'_>, report: $rust) -> PyResult<$class> {
                Ok($class { $($field: Attr::attr(&report.$field, py)?,)* report })
            }
        }

        #[pymethods]
        impl $class {
            /// The report as one line of JSON (docs/report-format.md).
            fn to_json(&self) -> String {
                self.report.to_json()
            }

            /// The report as a dict: `json.loads(self.to_json())`.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                to_py(py, &self.report)
            }

            fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
                other.cast::<$class>().is_ok_and(|o| o.get().report == self.report)
            }

            fn __repr__(&self) -> String {
                format!(
                    "{}(verdict='{}', log10_p={:.3}, green={}, scored={}, key_id='{}')",
                    $name, self.verdict, self.log10_p, self.green, self.scored, self.key_id
                )
            }
        }
    };
}

report_class! {
    /// The result of testing one text: the same content as a line of `wmark detect --json`.
    PyReport = "Report" over Report;
    schema_version: u32,
    scheme: String,
    key_id: String,
    gamma_effective: f64,
    tokens: u64,
    scored: u64,
    green: u64,
    /// The Gumbel-max schemes only: the sum of the scored tokens' scores (for hf-synthid,
    /// the number of g-values equal to 1).
    score: Option<f64>,
    /// hf-synthid only: the mean g-value score.
    mean_score: Option<f64>,
    p_value: f64,
    log10_p: f64,
    z: Option<f64>,
    alpha: f64,
    /// `watermarked`, `not_watermarked` or `insufficient`.
    verdict: String,
    dedup: String,
    normalized: bool,
    spans: Py<PyList>,
    token_flags: Option<Py<PyList>>,
    keys: Py<PyList>,
}

report_class! {
    /// The result of a corpus radioactivity test: the content of `wmark radioactive --json`.
    PyRadioactivityReport = "RadioactivityReport" over RadioactivityReport;
    schema_version: u32,
    scheme: String,
    key_id: String,
    gamma_effective: f64,
    dedup: String,
    alpha: f64,
    teacher_filter: bool,
    prompts: u64,
    prompt_tokens: u64,
    teacher_documents: u64,
    teacher_tokens: u64,
    answers: u64,
    answer_tokens: u64,
    no_context: u64,
    scored: u64,
    green: u64,
    green_fraction: Option<f64>,
    /// The Gumbel-max schemes only: the sum of the scored tuples' scores.
    score: Option<f64>,
    log10_p: f64,
    p_value: f64,
    z: Option<f64>,
    excluded_prompt_context: u64,
    filtered_out: u64,
    repeats: u64,
    keys: Py<PyList>,
    checkpoints: Py<PyList>,
    /// `radioactive`, `not_radioactive` or `insufficient`.
    verdict: String,
}
