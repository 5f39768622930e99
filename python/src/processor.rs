//! `wmark.Processor`: wmark-processor over numpy arrays, in place and without the GIL. The
//! Hugging Face and vLLM shapes (`wmark.WatermarkLogitsProcessor`) are thin Python on top
//! (python/wmark/_processor.py), which also brings torch tensors here as numpy views.

use std::sync::Mutex;

use numpy::{PyReadwriteArray1, PyReadwriteArray2};
use pyo3::prelude::*;
use wmark_processor::{BatchCache, Cache, Outcome, Processor};

use crate::core::{check_key_kind, PyConfig, PyKey};
use crate::errors::{self, error, Kind};
use crate::ids;

/// The shared, read-only processor with a pool of scratch caches: any number of Python
/// threads may call it at once (each call takes a cache from the pool and gives it back).
#[pyclass(name = "Processor", module = "wmark", frozen)]
pub struct PyProcessor {
    processor: Processor,
    config: PyConfig,
    finite: bool,
    batch_pool: Mutex<Vec<BatchCache>>,
    row_pool: Mutex<Vec<Cache>>,
}

impl PyProcessor {
    fn take_batch(&self) -> BatchCache {
        self.batch_pool.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default()
    }

    fn give_batch(&self, c: BatchCache) {
        self.batch_pool.lock().unwrap_or_else(|e| e.into_inner()).push(c);
    }

    fn take_row(&self) -> Cache {
        let taken = self.row_pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        taken.unwrap_or_else(|| self.processor.create_cache())
    }

    fn give_row(&self, c: Cache) {
        self.row_pool.lock().unwrap_or_else(|e| e.into_inner()).push(c);
    }
}

#[pymethods]
impl PyProcessor {
    /// `finite=True` is the candidate mode (only finite logits are tested: use it after a
    /// top-k/top-p warper; the result is the same). `top_k` is the number of candidates
    /// `selfhash` tests; `mask_cache_bytes` keeps recent green lists per thread.
    #[new]
    #[pyo3(signature = (config, key, *, finite = false, top_k = 40, mask_cache_bytes = 0))]
    fn new(
        config: PyRef<'_, PyConfig>,
        key: PyRef<'_, PyKey>,
        finite: bool,
        top_k: usize,
        mask_cache_bytes: usize,
    ) -> PyResult<PyProcessor> {
        if top_k == 0 {
            return Err(error(Kind::Config, "top_k must be at least 1"));
        }
        if config.config.seeding().is_detect_only() {
            return Err(error(
                Kind::Config,
                format!(
                    "wmark detects {} but does not generate it: transformers' WatermarkLogitsProcessor makes that text",
                    config.config.seeding()
                ),
            ));
        }
        if config.config.seeding().is_gumbel() {
            return Err(error(
                Kind::Config,
                format!(
                    "the Gumbel-max scheme {} chooses tokens instead of biasing logits: \
                     use wmark.GumbelSampler or wmark.GumbelLogitsProcessor",
                    config.config.seeding()
                ),
            ));
        }
        if config.config.seeding().synthid_ngram_len().is_some() {
            return Err(error(
                Kind::Config,
                format!(
                    "SynthID-Text ({}) reshapes the whole distribution instead of biasing a green list: \
                     use wmark.SynthIdLogitsProcessor",
                    config.config.seeding()
                ),
            ));
        }
        check_key_kind(&config.config, &key.key)?;
        let processor =
            Processor::builder().top_k(top_k).mask_cache_bytes(mask_cache_bytes).build(&key.key, config.config);
        Ok(PyProcessor {
            processor,
            config: config.clone(),
            finite,
            batch_pool: Mutex::new(Vec::new()),
            row_pool: Mutex::new(Vec::new()),
        })
    }

    #[getter]
    fn config(&self) -> PyConfig {
        self.config.clone()
    }

    #[getter]
    fn key_id(&self) -> String {
        self.processor.watermark().key_id().to_string()
    }

    #[getter]
    fn finite(&self) -> bool {
        self.finite
    }

    #[getter]
    fn top_k(&self) -> usize {
        self.processor.top_k()
    }

    /// Adds δ to the green logits of every row of `scores` (batch × vocab_size, float32,
    /// writable; any strides), in place; `input_ids` (batch × sequence, integers) gives each
    /// row's context. Rows whose context is too short for the rule are left unchanged.
    /// The GIL is released while the rows are processed.
    fn apply(&self, py: Python<'_>, input_ids: &Bound<'_, PyAny>, scores: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Some(r) = ids::via_aligned_copy(scores, |copy| self.apply(py, input_ids, copy))? {
            return Ok(r);
        }
        let mut scores = scores.extract::<PyReadwriteArray2<'_, f32>>().map_err(|_| {
            error(Kind::Input, "scores must be a writable 2-D float32 numpy array (batch x vocab_size)")
        })?;
        let tail = self.processor.watermark().context_len();
        let (flat, keep, rows) = ids::row_tails(input_ids, tail)?;
        let contexts: Vec<&[u32]> = (0..rows).map(|r| &flat[r * keep..(r + 1) * keep]).collect();
        let view = scores.as_array_mut();
        let mut caches = self.take_batch();
        let finite = self.finite;
        let processor = &self.processor;
        let result = py.detach(|| {
            if finite {
                processor.apply_batch_finite(&mut caches, &contexts, view)
            } else {
                processor.apply_batch(&mut caches, &contexts, view)
            }
        });
        self.give_batch(caches);
        result.map_err(errors::processor)
    }

    /// One row: adds δ to the green logits of `logits` (1-D float32, writable) after
    /// `context` (every token before the position). With `candidates`, only those ids are
    /// tested. Returns False if the context was too short (the logits are then unchanged).
    #[pyo3(signature = (context, logits, candidates = None))]
    fn apply_row(
        &self,
        py: Python<'_>,
        context: &Bound<'_, PyAny>,
        logits: &Bound<'_, PyAny>,
        candidates: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        if let Some(r) = ids::via_aligned_copy(logits, |copy| self.apply_row(py, context, copy, candidates))? {
            return Ok(r);
        }
        let mut logits = logits
            .extract::<PyReadwriteArray1<'_, f32>>()
            .map_err(|_| error(Kind::Input, "logits must be a writable 1-D float32 numpy array (vocab_size)"))?;
        let context = ids::ids_tail(context, Some(self.processor.watermark().context_len()))?;
        let candidates = candidates.map(ids::ids).transpose()?;
        let mut view = logits.as_array_mut();
        let mut cache = self.take_row();
        let (processor, finite) = (&self.processor, self.finite);
        let result = py.detach(|| {
            let mut run = |slice: &mut [f32]| match &candidates {
                Some(c) => processor.apply_candidates(&mut cache, &context, slice, c),
                None if finite => processor.apply_finite(&mut cache, &context, slice),
                None => processor.apply(&mut cache, &context, slice),
            };
            match view.as_slice_mut() {
                Some(slice) => run(slice),
                None => {
                    let mut tmp: Vec<f32> = view.iter().copied().collect();
                    let r = run(&mut tmp);
                    view.iter_mut().zip(&tmp).for_each(|(d, &s)| *d = s);
                    r
                }
            }
        });
        self.give_row(cache);
        Ok(result.map_err(errors::processor)? == Outcome::Applied)
    }

    fn __repr__(&self) -> String {
        format!(
            "Processor(config={}, key_id='{}', finite={})",
            self.config.config.seeding(),
            self.key_id(),
            self.finite
        )
    }
}
