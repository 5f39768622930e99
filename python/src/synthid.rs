//! `wmark.SynthIdProcessor` and `wmark.SynthIdState`: wmark-processor's SynthID-Text
//! tournament (`hf-synthid:n`, transformers' `SynthIDTextWatermarkLogitsProcessor`) over numpy
//! arrays, without the GIL. The Hugging Face shape (`wmark.SynthIdLogitsProcessor`) is thin
//! Python on top (python/wmark/_processor.py).

use std::sync::atomic::{AtomicU64, Ordering};

use numpy::PyReadwriteArray1;
use pyo3::prelude::*;
use wmark_processor::{SynthIdProcessor, SynthIdState, SynthIdStep};

use crate::core::{check_key_kind, PyConfig, PyKey};
use crate::errors::{self, error, Kind};
use crate::ids;

/// Numbers the processors, so that a state is only used with the processor that made it.
static NEXT_PROCESSOR: AtomicU64 = AtomicU64::new(1);

/// The shared, read-only SynthID-Text processor of one key: any number of threads may use it
/// at once, each sequence with its own `SynthIdState`.
#[pyclass(name = "SynthIdProcessor", module = "wmark", frozen)]
pub struct PySynthIdProcessor {
    processor: SynthIdProcessor,
    config: PyConfig,
    key_id: String,
    history: usize,
    id: u64,
}

/// The state of one generated sequence: where its generated ids start, and the history of
/// its contexts (a repeated context is left unwatermarked).
#[pyclass(name = "SynthIdState", module = "wmark")]
pub struct PySynthIdState {
    state: SynthIdState,
    processor: u64,
}

#[pymethods]
impl PySynthIdState {
    /// Starts a new sequence (the next step fixes where its generated ids start).
    fn reset(&mut self) {
        self.state.reset();
    }

    fn __repr__(&self) -> String {
        "SynthIdState()".to_string()
    }
}

fn step_name(step: SynthIdStep) -> &'static str {
    match step {
        SynthIdStep::Applied => "applied",
        SynthIdStep::RepeatedContext => "repeated",
        SynthIdStep::NoCandidate => "no_candidate",
    }
}

#[pymethods]
impl PySynthIdProcessor {
    /// A processor for an `hf-synthid:n` `config` and a SynthID key (`Key.from_synthid`),
    /// with transformers' `context_history_size` (default 1024). Call it on the logits after
    /// temperature, top-k and top-p, as transformers does.
    #[new]
    #[pyo3(signature = (config, key, *, context_history_size = 1024))]
    fn new(config: PyRef<'_, PyConfig>, key: PyRef<'_, PyKey>, context_history_size: usize) -> PyResult<Self> {
        if config.config.seeding().synthid_ngram_len().is_none() {
            return Err(error(
                Kind::Config,
                format!(
                    "{} is not SynthID-Text (hf-synthid:n); use wmark.Processor or wmark.GumbelSampler",
                    config.config.seeding()
                ),
            ));
        }
        check_key_kind(&config.config, &key.key)?;
        let processor = SynthIdProcessor::with_context_history(&key.key, config.config, context_history_size)
            .map_err(errors::processor)?;
        Ok(PySynthIdProcessor {
            processor,
            config: config.clone(),
            key_id: key.key.id().to_string(),
            history: context_history_size,
            id: NEXT_PROCESSOR.fetch_add(1, Ordering::Relaxed),
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
    fn context_history_size(&self) -> usize {
        self.history
    }

    /// The state of a new sequence.
    fn create_state(&self) -> PySynthIdState {
        PySynthIdState { state: self.processor.create_state(), processor: self.id }
    }

    /// One decoding step for the position after `context` (the prompt and the ids generated
    /// so far; the state's first step fixes where the generated ids start, and each later step
    /// must come one id later): replaces `logits` (1-D float32, writable, vocab_size long) in
    /// place by the tournament's log-probabilities. Returns "applied", "repeated" (the context
    /// was used within the history: `logits` unchanged) or "no_candidate" (no finite logit:
    /// unchanged). The GIL is released meanwhile.
    fn apply(
        &self,
        py: Python<'_>,
        state: &Bound<'_, PySynthIdState>,
        context: &Bound<'_, PyAny>,
        logits: &Bound<'_, PyAny>,
    ) -> PyResult<&'static str> {
        if let Some(r) = ids::via_aligned_copy(logits, |copy| self.apply(py, state, context, copy))? {
            return Ok(r);
        }
        let mut logits = logits
            .extract::<PyReadwriteArray1<'_, f32>>()
            .map_err(|_| error(Kind::Input, "logits must be a writable 1-D float32 numpy array (vocab_size)"))?;
        let context = ids::ids(context)?;
        let mut state = state.try_borrow_mut()?;
        if state.processor != self.id {
            return Err(error(Kind::Input, "this SynthIdState was made by another SynthIdProcessor"));
        }
        let inner = &mut state.state;
        let mut view = logits.as_array_mut();
        let processor = &self.processor;
        let result = py.detach(|| match view.as_slice_mut() {
            Some(slice) => processor.apply(inner, &context, slice),
            None => {
                let mut row: Vec<f32> = view.iter().copied().collect();
                let r = processor.apply(inner, &context, &mut row);
                view.iter_mut().zip(&row).for_each(|(d, &s)| *d = s);
                r
            }
        });
        Ok(step_name(result.map_err(|e| {
            if e.is_config() {
                error(Kind::Input, e.to_string())
            } else {
                errors::processor(e)
            }
        })?))
    }

    fn __repr__(&self) -> String {
        format!(
            "SynthIdProcessor(config={}, key_id='{}', context_history_size={})",
            self.config.config.seeding(),
            self.key_id,
            self.history
        )
    }
}
