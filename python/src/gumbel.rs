//! `wmark.GumbelSampler` and `wmark.GumbelState`: wmark-processor's Gumbel-max sampler
//! (`gumbel:h`, `vllm-gumbel:w`, `vllm-dual-key-gumbel:w`) over numpy arrays, without the GIL.
//! The Hugging Face shape (`wmark.GumbelLogitsProcessor`) is thin Python on top
//! (python/wmark/_processor.py).

use std::sync::atomic::{AtomicU64, Ordering};

use numpy::{PyReadonlyArray1, PyReadwriteArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use wmark_processor::gumbel::{Choice, GumbelSampler, GumbelState, Warp};

use crate::core::{check_key_kind, PyConfig, PyKey};
use crate::errors::{self, error, Kind};
use crate::ids;

/// Numbers the samplers, so that a state is only used with the sampler that made it.
static NEXT_SAMPLER: AtomicU64 = AtomicU64::new(1);

/// The shared, read-only Gumbel-max sampler of one key: any number of threads may use it at
/// once, each sequence with its own `GumbelState`.
#[pyclass(name = "GumbelSampler", module = "wmark", frozen)]
pub struct PyGumbelSampler {
    sampler: GumbelSampler,
    config: PyConfig,
    key_id: String,
    id: u64,
}

/// The state of one generated sequence: where its generated tokens start, the contexts it
/// has used (a repeated context is sampled without the watermark) and the dual key's router.
#[pyclass(name = "GumbelState", module = "wmark")]
pub struct PyGumbelState {
    state: GumbelState,
    sampler: u64,
}

#[pymethods]
impl PyGumbelState {
    /// Starts a new sequence (the next step fixes where its generated tokens start); the
    /// dual key's router goes on from where it was.
    fn reset(&mut self) {
        self.state.reset();
    }

    /// The context length of the sequence's first step (where its generated tokens start),
    /// or None before the first step.
    #[getter]
    fn start(&self) -> Option<usize> {
        self.state.start()
    }

    fn __repr__(&self) -> String {
        match self.state.start() {
            Some(s) => format!("GumbelState(start={s})"),
            None => "GumbelState(start=None)".to_string(),
        }
    }
}

/// A 1-D float32 view of `logits`: read in place when it is a float32 numpy array, else
/// converted by `numpy.asarray(logits, dtype=numpy.float32)`.
fn readonly_logits<'py>(logits: &Bound<'py, PyAny>) -> PyResult<PyReadonlyArray1<'py, f32>> {
    if ids::in_place_layout(logits)? {
        if let Ok(a) = logits.extract::<PyReadonlyArray1<'py, f32>>() {
            return Ok(a);
        }
    }
    let py = logits.py();
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", "float32")?;
    // An aligned copy when the array cannot be read in place (ids::in_place_layout).
    kwargs.set_item("requirements", "A")?;
    let converted = py
        .import("numpy")?
        .call_method("require", (logits,), Some(&kwargs))
        .map_err(|_| error(Kind::Input, "logits must be a 1-D array of floats (vocab_size)"))?;
    converted.extract::<PyReadonlyArray1<'py, f32>>().map_err(|_| {
        let ndim = converted.cast::<numpy::PyUntypedArray>().map(|a| a.ndim()).unwrap_or(0);
        error(Kind::Input, format!("logits must be 1-D (vocab_size), got {ndim} dimension(s)"))
    })
}

fn token(choice: Choice) -> Option<u32> {
    match choice {
        Choice::Token(t) => Some(t),
        Choice::Repeated | Choice::ContextTooShort | Choice::NoCandidate => None,
    }
}

impl PyGumbelSampler {
    /// The state's inner value, after checking it is this sampler's and that `context` is
    /// not shorter than at the sequence's first step.
    fn check<'a>(&self, state: &'a mut PyGumbelState, context: &[u32]) -> PyResult<&'a mut GumbelState> {
        if state.sampler != self.id {
            return Err(error(Kind::Input, "this GumbelState was made by another GumbelSampler"));
        }
        if let Some(start) = state.state.start() {
            if context.len() < start {
                return Err(error(
                    Kind::Input,
                    format!(
                        "the context has {} ids, fewer than the {start} of the sequence's first step: \
                         reset() the state (or create a new one) for a new sequence",
                        context.len()
                    ),
                ));
            }
        }
        Ok(&mut state.state)
    }
}

#[pymethods]
impl PyGumbelSampler {
    /// A sampler for a Gumbel-max `config` and a key of its kind (a wmark key for
    /// `gumbel:h`, a vLLM key for the `vllm-*` schemes). At every watermarked position it
    /// chooses the token itself, after `temperature`, `top_k` (0: no limit) and `top_p`
    /// (1: no limit): give it the sampling parameters of the generation.
    #[new]
    #[pyo3(signature = (config, key, *, temperature = 1.0, top_k = 0, top_p = 1.0))]
    fn new(
        config: PyRef<'_, PyConfig>,
        key: PyRef<'_, PyKey>,
        temperature: f64,
        top_k: usize,
        top_p: f64,
    ) -> PyResult<PyGumbelSampler> {
        if !config.config.seeding().is_gumbel() {
            return Err(error(
                Kind::Config,
                format!(
                    "{} is not a Gumbel-max scheme (gumbel:h, vllm-gumbel:w, vllm-dual-key-gumbel:w); \
                     use wmark.Processor or wmark.WatermarkLogitsProcessor",
                    config.config.seeding()
                ),
            ));
        }
        check_key_kind(&config.config, &key.key)?;
        let warp = Warp { temperature: temperature as f32, top_k, top_p: top_p as f32 };
        let sampler = GumbelSampler::new(&key.key, config.config, warp).map_err(errors::processor)?;
        Ok(PyGumbelSampler {
            sampler,
            config: config.clone(),
            key_id: key.key.id().to_string(),
            id: NEXT_SAMPLER.fetch_add(1, Ordering::Relaxed),
        })
    }

    #[getter]
    fn config(&self) -> PyConfig {
        self.config.clone()
    }

    #[getter]
    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    #[getter]
    fn temperature(&self) -> f32 {
        self.sampler.warp().temperature
    }

    #[getter]
    fn top_k(&self) -> usize {
        self.sampler.warp().top_k
    }

    #[getter]
    fn top_p(&self) -> f32 {
        self.sampler.warp().top_p
    }

    /// The state of a new sequence; `seed` (0 to 2**64 - 1) seeds the dual key's router,
    /// which sends a step to key B with probability alpha (unused by the other schemes).
    #[pyo3(signature = (seed = 0))]
    fn create_state(&self, seed: u64) -> PyGumbelState {
        PyGumbelState { state: self.sampler.create_state(seed), sampler: self.id }
    }

    /// The watermarked choice for the position after `context` (the prompt and the tokens
    /// generated so far: the state's first step fixes where the generated tokens start),
    /// from the step's raw `logits` (1-D, vocab_size long; -inf and NaN are never chosen).
    /// None when the position is to be sampled without the watermark: its context was used
    /// before in the sequence, `gumbel:h` has fewer than h tokens of context, or no logit is
    /// finite. The GIL is released while choosing.
    fn choose(
        &self,
        py: Python<'_>,
        state: &Bound<'_, PyGumbelState>,
        context: &Bound<'_, PyAny>,
        logits: &Bound<'_, PyAny>,
    ) -> PyResult<Option<u32>> {
        let logits = readonly_logits(logits)?;
        let context = ids::ids(context)?;
        let mut state = state.try_borrow_mut()?;
        let inner = self.check(&mut state, &context)?;
        let view = logits.as_array();
        let sampler = &self.sampler;
        let result = py.detach(|| match view.as_slice() {
            Some(slice) => sampler.choose(inner, &context, slice),
            None => {
                let row: Vec<f32> = view.iter().copied().collect();
                sampler.choose(inner, &context, &row)
            }
        });
        Ok(token(result.map_err(errors::processor)?))
    }

    /// `choose`, then, when it gives a token, sets every other entry of `logits` (1-D
    /// float32, writable; any stride) to -inf in place, so that whatever samples next picks
    /// it (the chosen entry keeps its value, or becomes 0 if it was not finite). Returns the
    /// token, or None with `logits` unchanged. The GIL is released meanwhile.
    fn apply(
        &self,
        py: Python<'_>,
        state: &Bound<'_, PyGumbelState>,
        context: &Bound<'_, PyAny>,
        logits: &Bound<'_, PyAny>,
    ) -> PyResult<Option<u32>> {
        if let Some(r) = ids::via_aligned_copy(logits, |copy| self.apply(py, state, context, copy))? {
            return Ok(r);
        }
        let mut logits = logits
            .extract::<PyReadwriteArray1<'_, f32>>()
            .map_err(|_| error(Kind::Input, "logits must be a writable 1-D float32 numpy array (vocab_size)"))?;
        let context = ids::ids(context)?;
        let mut state = state.try_borrow_mut()?;
        let inner = self.check(&mut state, &context)?;
        let mut view = logits.as_array_mut();
        let sampler = &self.sampler;
        let result = py.detach(|| match view.as_slice_mut() {
            Some(slice) => sampler.apply(inner, &context, slice),
            None => {
                let mut row: Vec<f32> = view.iter().copied().collect();
                let r = sampler.apply(inner, &context, &mut row);
                view.iter_mut().zip(&row).for_each(|(d, &s)| *d = s);
                r
            }
        });
        Ok(token(result.map_err(errors::processor)?))
    }

    fn __repr__(&self) -> String {
        let w = self.sampler.warp();
        format!(
            "GumbelSampler(config={}, key_id='{}', temperature={:?}, top_k={}, top_p={:?})",
            self.config.config.seeding(),
            self.key_id,
            w.temperature,
            w.top_k,
            w.top_p
        )
    }
}
