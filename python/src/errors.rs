//! The exception hierarchy: one class per kind of Rust error, all under `wmark.WmarkError`;
//! errors about bad values are also `ValueError`, errors of the operating system `OSError`.
//!
//! The classes are made with `type(name, bases, namespace)` when the module loads (pyo3's
//! `create_exception!` takes one base only), and looked up by kind when an error is raised.

use pyo3::exceptions::{PyException, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// Every kind of error the bindings raise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Config,
    KeyFile,
    InsecureKeyFile,
    Random,
    Io,
    ContextTooShort,
    LogitsLength,
    CandidateOutOfRange,
    BatchShape,
    Tokenizer,
    VocabMismatch,
    NoKeys,
    Input,
}

/// The base every other class derives from.
const BASE: &str = "WmarkError";

/// (kind, class name, parent in this hierarchy, extra builtin base, docstring).
const CLASSES: &[(Kind, &str, &str, Extra, &str)] = &[
    (
        Kind::Config,
        "ConfigError",
        BASE,
        Extra::Value,
        "A configuration value (scheme, gamma, delta, vocab_size, alpha, dedup, top_k) was rejected.",
    ),
    (
        Kind::KeyFile,
        "KeyFileError",
        BASE,
        Extra::Value,
        "A key file is malformed; the message names the line and never repeats key material.",
    ),
    (
        Kind::InsecureKeyFile,
        "InsecureKeyFileError",
        "KeyFileError",
        Extra::None,
        "A key file can be read by group or others (as ssh, wmark refuses it: chmod 600).",
    ),
    (Kind::Random, "RandomSourceError", BASE, Extra::Os, "The operating system's random source failed."),
    (Kind::Io, "WmarkIOError", BASE, Extra::Os, "Reading or writing a file failed."),
    (
        Kind::ContextTooShort,
        "ContextTooShortError",
        BASE,
        Extra::Value,
        "The seeding rule needs more context tokens than were given.",
    ),
    (Kind::LogitsLength, "LogitsLengthError", BASE, Extra::Value, "A logits row is not exactly vocab_size long."),
    (
        Kind::CandidateOutOfRange,
        "CandidateOutOfRangeError",
        BASE,
        Extra::Value,
        "An explicit candidate id is not below vocab_size.",
    ),
    (
        Kind::BatchShape,
        "BatchShapeError",
        BASE,
        Extra::Value,
        "input_ids and scores have different numbers of rows, or an array has the wrong shape.",
    ),
    (Kind::Tokenizer, "TokenizerError", BASE, Extra::None, "A tokenizer.json could not be loaded or used."),
    (
        Kind::VocabMismatch,
        "VocabMismatchError",
        BASE,
        Extra::Value,
        "The tokenizer or the input has ids the configured vocabulary cannot hold.",
    ),
    (Kind::NoKeys, "NoKeysError", BASE, Extra::Value, "A detector was given no key."),
    (
        Kind::Input,
        "InputError",
        BASE,
        Extra::Value,
        "The input itself is unusable (a negative token id, text without a tokenizer, ...).",
    ),
];

#[derive(Clone, Copy)]
enum Extra {
    None,
    Value,
    Os,
}

/// The classes, in the order of [`CLASSES`], with the base at the end.
static TYPES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn make_types(py: Python<'_>) -> PyResult<Vec<Py<PyType>>> {
    let type_type = py.get_type::<PyType>();
    let make = |name: &str, bases: Bound<'_, PyTuple>, doc: &str| -> PyResult<Py<PyType>> {
        let ns = PyDict::new(py);
        ns.set_item("__module__", "wmark")?;
        ns.set_item("__doc__", doc)?;
        let cls = type_type.call1((name, bases, ns))?;
        Ok(cls.cast_into::<PyType>()?.unbind())
    };
    let base =
        make(BASE, PyTuple::new(py, [py.get_type::<PyException>()])?, "The base class of every error wmark raises.")?;
    let mut made: Vec<(&str, Py<PyType>)> = vec![(BASE, base.clone_ref(py))];
    let mut out = Vec::with_capacity(CLASSES.len() + 1);
    for &(_, name, parent, extra, doc) in CLASSES {
        let parent = made.iter().find(|(n, _)| *n == parent).expect("parents come first").1.bind(py).clone();
        let mut bases = vec![parent];
        match extra {
            Extra::None => {}
            Extra::Value => bases.push(py.get_type::<PyValueError>()),
            Extra::Os => bases.push(py.get_type::<PyOSError>()),
        }
        let cls = make(name, PyTuple::new(py, bases)?, doc)?;
        made.push((name, cls.clone_ref(py)));
        out.push(cls);
    }
    out.push(base);
    Ok(out)
}

/// Adds every class to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let types = TYPES.get_or_try_init(py, || make_types(py))?;
    m.add(BASE, types.last().expect("base").bind(py))?;
    for (i, &(_, name, ..)) in CLASSES.iter().enumerate() {
        m.add(name, types[i].bind(py))?;
    }
    Ok(())
}

/// A Python exception of `kind` with `message`.
pub fn error(kind: Kind, message: impl Into<String>) -> PyErr {
    let message = message.into();
    Python::attach(|py| {
        let types = match TYPES.get_or_try_init(py, || make_types(py)) {
            Ok(t) => t,
            Err(e) => return e,
        };
        let i = CLASSES.iter().position(|c| c.0 == kind).expect("every kind has a class");
        PyErr::from_type(types[i].bind(py).clone(), message)
    })
}

/// wmark-core's errors.
pub fn core(e: wmark_core::Error) -> PyErr {
    let kind = if e.is_config() {
        Kind::Config
    } else if e.is_key_file() {
        Kind::KeyFile
    } else if e.is_io() {
        Kind::Io
    } else if e.is_random() {
        Kind::Random
    } else if e.is_context_too_short() {
        Kind::ContextTooShort
    } else {
        Kind::Input
    };
    error(kind, e.to_string())
}

/// wmark-processor's errors.
pub fn processor(e: wmark_processor::Error) -> PyErr {
    let kind = if e.is_logits_length() {
        Kind::LogitsLength
    } else if e.is_candidate_out_of_range() {
        Kind::CandidateOutOfRange
    } else if e.is_batch_shape() {
        Kind::BatchShape
    } else if e.is_config() {
        Kind::Config
    } else {
        Kind::Input
    };
    error(kind, e.to_string())
}

/// wmark-detect's errors, with an optional prefix naming the document.
pub fn detect_in(e: wmark_detect::Error, prefix: Option<&str>) -> PyErr {
    let kind = if e.is_tokenizer() {
        Kind::Tokenizer
    } else if e.is_vocab_mismatch() {
        Kind::VocabMismatch
    } else if e.is_no_keys() {
        Kind::NoKeys
    } else if e.is_io() {
        Kind::Io
    } else {
        Kind::Input
    };
    match prefix {
        Some(p) => error(kind, format!("{p}: {e}")),
        None => error(kind, e.to_string()),
    }
}

/// wmark-detect's errors.
pub fn detect(e: wmark_detect::Error) -> PyErr {
    detect_in(e, None)
}
