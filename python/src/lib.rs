//! `wmark._wmark`, the native half of the `wmark` Python package (python/wmark/ is the
//! other). Thin: every function converts its arguments, releases the GIL where there is work,
//! and calls wmark-core, wmark-processor or wmark-detect. The module tree mirrors the crates:
//! `Key`, `Config`, `Watermark` (core), `Processor`, `GumbelSampler`, `GumbelState`,
//! `SynthIdProcessor` and `SynthIdState` (processor), `Detector`, the reports and
//! the streaming `Radioactivity` test (detect), and `wmark.stats` (detect's exact tails).
#![deny(unsafe_code)]

mod core;
mod detect;
mod errors;
mod gumbel;
mod ids;
mod processor;
mod radioactive;
mod report;
mod spark;
mod synthid;

use pyo3::prelude::*;

/// log10 P(Bin(n, p) >= k), exact, in log space (never floored).
#[pyfunction]
fn binomial_upper_tail_log10(n: u64, k: u64, p: f64) -> f64 {
    wmark_detect::stats::binomial_upper_tail_log10(n, k, p)
}

/// log10 Q(a, x), the regularised upper incomplete gamma function.
#[pyfunction]
fn gamma_upper_tail_log10(a: f64, x: f64) -> f64 {
    wmark_detect::stats::gamma_upper_tail_log10(a, x)
}

/// log10 P(Z >= z) for a standard normal Z.
#[pyfunction]
fn normal_upper_tail_log10(z: f64) -> f64 {
    wmark_detect::stats::normal_upper_tail_log10(z)
}

/// (k - np) / sqrt(np(1 - p)), for familiarity only.
#[pyfunction]
fn z_score(n: u64, k: u64, p: f64) -> f64 {
    wmark_detect::stats::z_score(n, k, p)
}

#[pymodule]
fn _wmark(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<core::PyKey>()?;
    m.add_class::<core::PyConfig>()?;
    m.add_class::<core::PyWatermark>()?;
    m.add_class::<processor::PyProcessor>()?;
    m.add_class::<gumbel::PyGumbelSampler>()?;
    m.add_class::<gumbel::PyGumbelState>()?;
    m.add_class::<synthid::PySynthIdProcessor>()?;
    m.add_class::<synthid::PySynthIdState>()?;
    m.add_class::<detect::PyDetector>()?;
    m.add_class::<report::PyReport>()?;
    m.add_class::<report::PyRadioactivityReport>()?;
    m.add_class::<radioactive::PyRadioactivity>()?;
    // wmark.spark's private half: set as attributes, not `add`ed, so that they stay out of
    // `__all__` (and so out of the stubs).
    m.setattr("_SparkScan", m.py().get_type::<spark::PySparkScan>())?;
    m.setattr("_spark_detect", wrap_pyfunction!(spark::spark_detect, m)?)?;
    m.setattr("_spark_key_from_file_text", wrap_pyfunction!(spark::spark_key_from_file_text, m)?)?;
    m.setattr("_spark_radioactivity_report", wrap_pyfunction!(spark::spark_radioactivity_report, m)?)?;
    m.add_function(wrap_pyfunction!(core::inspect, m)?)?;
    m.add_function(wrap_pyfunction!(core::stream_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(binomial_upper_tail_log10, m)?)?;
    m.add_function(wrap_pyfunction!(gamma_upper_tail_log10, m)?)?;
    m.add_function(wrap_pyfunction!(normal_upper_tail_log10, m)?)?;
    m.add_function(wrap_pyfunction!(z_score, m)?)?;
    m.add("SCHEMA_VERSION", wmark_detect::SCHEMA_VERSION)?;
    m.add("RADIOACTIVITY_SCHEMA_VERSION", wmark_detect::radioactive::RADIOACTIVITY_SCHEMA_VERSION)?;
    m.add("DEFAULT_ALPHA", wmark_detect::DEFAULT_ALPHA)?;
    m.add("DEFAULT_TOP_K", wmark_processor::DEFAULT_TOP_K)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
