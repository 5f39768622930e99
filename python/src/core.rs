//! `wmark.Key`, `wmark.Config`, `wmark.Watermark`, `wmark.inspect` and `wmark.stream_bytes`:
//! wmark-core from Python.

use std::path::PathBuf;

use numpy::PyArray1;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict};
use wmark_core::{Config, GreenMask, Key, KeyKind, Seed, Seeding, Watermark};

use crate::errors::{self, error, Kind};
use crate::ids;

/// A watermark secret: 256 bits for wmark's own schemes (kind "v1"), the 64-bit integer of
/// a vLLM deployment's watermark (kind "vllm", for `vllm-gumbel` and `vllm-dual-key-gumbel`),
/// or the integer `hashing_key` of Hugging Face transformers' KGW watermark (kind "hf", for
/// `hf-lefthash` and `hf-selfhash`), or the layer keys of its SynthID-Text watermark (kind
/// "synthid", for `hf-synthid:n`).
/// Neither `repr` nor `str` shows it: only its public id.
#[pyclass(name = "Key", module = "wmark", frozen)]
pub struct PyKey {
    pub key: Key,
}

/// The name of a key kind, as `Key.kind` shows it.
pub fn kind_name(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::V1 => "v1",
        KeyKind::Vllm => "vllm",
        KeyKind::Hf => "hf",
        KeyKind::SynthId => "synthid",
    }
}

/// Refuses a key of the wrong kind for `config` (a vLLM key for wmark's schemes, or a wmark
/// key for the `vllm-*` schemes), as the detector does.
pub fn check_key_kind(config: &Config, key: &Key) -> PyResult<()> {
    let seeding = config.seeding();
    if key.kind() == seeding.key_kind() {
        return Ok(());
    }
    let message = match seeding.key_kind() {
        KeyKind::Vllm => {
            format!(
                "the scheme {seeding} needs a vLLM key (Key.from_vllm, Key.generate_vllm), but key {} is a wmark key",
                key.id()
            )
        }
        KeyKind::V1 => format!("the scheme {seeding} needs a wmark key, but key {} is not one", key.id()),
        KeyKind::Hf => format!(
            "the scheme {seeding} needs a Hugging Face hashing key (Key.from_hf), but key {} is not one",
            key.id()
        ),
        KeyKind::SynthId => format!(
            "the scheme {seeding} needs SynthID-Text layer keys (Key.from_synthid), but key {} is not one",
            key.id()
        ),
    };
    Err(error(Kind::Config, message))
}

#[pymethods]
impl PyKey {
    /// A fresh 256-bit key (kind "v1") from the operating system's random source.
    #[staticmethod]
    fn generate() -> PyResult<PyKey> {
        Ok(PyKey { key: Key::generate().map_err(errors::core)? })
    }

    /// A fresh 64-bit vLLM key (kind "vllm") from the operating system's random source.
    #[staticmethod]
    fn generate_vllm() -> PyResult<PyKey> {
        Ok(PyKey { key: Key::generate_vllm().map_err(errors::core)? })
    }

    /// Wraps the 64-bit key of a vLLM deployment (its `WatermarkConfig.key`), an int from 0
    /// to 2**64 - 1 (anything with `__index__`; bool is refused).
    #[staticmethod]
    fn from_vllm(key: &Bound<'_, PyAny>) -> PyResult<PyKey> {
        if key.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err("a vLLM key is an int, not a bool"));
        }
        let Ok(index) = key.call_method0("__index__") else {
            return Err(PyTypeError::new_err(format!("a vLLM key is an int, got {}", key.get_type().name()?)));
        };
        let value: u64 = index
            .extract()
            .map_err(|_| error(Kind::Config, "a vLLM key is an integer from 0 to 2**64 - 1 (18446744073709551615)"))?;
        Ok(PyKey { key: Key::from_vllm(value) })
    }

    /// Wraps the `hashing_key` of a Hugging Face `WatermarkingConfig` (transformers' default
    /// is 15485863), an int from -2**63 to 2**64 - 1 (anything with `__index__`; bool is
    /// refused).
    #[staticmethod]
    fn from_hf(hashing_key: &Bound<'_, PyAny>) -> PyResult<PyKey> {
        if hashing_key.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err("a hashing key is an int, not a bool"));
        }
        let Ok(index) = hashing_key.call_method0("__index__") else {
            return Err(PyTypeError::new_err(format!(
                "a hashing key is an int, got {}",
                hashing_key.get_type().name()?
            )));
        };
        let range = || error(Kind::Config, "a Hugging Face hashing key is an integer from -2**63 to 2**64 - 1");
        let value: i128 = index.extract().map_err(|_| range())?;
        Ok(PyKey { key: Key::from_hf(value).map_err(|_| range())? })
    }

    /// Wraps the `keys` of a Hugging Face `SynthIDTextWatermarkingConfig`: a sequence of 1 to
    /// 1024 ints from -2**63 to 2**63 - 1, one per tournament layer, in order.
    #[staticmethod]
    fn from_synthid(keys: &Bound<'_, PyAny>) -> PyResult<PyKey> {
        let range = || error(Kind::Config, "a SynthID-Text layer key is an integer from -2**63 to 2**63 - 1");
        let kind = || PyTypeError::new_err("SynthID-Text keys are a sequence of ints");
        if keys.is_instance_of::<pyo3::types::PyString>() || keys.is_instance_of::<PyBytes>() {
            return Err(kind());
        }
        let mut values = zeroize::Zeroizing::new(Vec::new());
        for item in keys.try_iter().map_err(|_| kind())? {
            let item = item?;
            if item.is_instance_of::<PyBool>() {
                return Err(PyTypeError::new_err("a SynthID-Text layer key is an int, not a bool"));
            }
            let Ok(index) = item.call_method0("__index__") else {
                return Err(PyTypeError::new_err(format!(
                    "a SynthID-Text layer key is an int, got {}",
                    item.get_type().name()?
                )));
            };
            values.push(index.extract::<i64>().map_err(|_| range())?);
            if values.len() > wmark_core::MAX_SYNTHID_LAYERS {
                break;
            }
        }
        Ok(PyKey { key: Key::from_synthid(&values).map_err(errors::core)? })
    }

    /// A fresh SynthID-Text key of `layers` random layer keys (kind "synthid").
    #[staticmethod]
    #[pyo3(signature = (layers = 30))]
    fn generate_synthid(layers: usize) -> PyResult<PyKey> {
        if !(1..=wmark_core::MAX_SYNTHID_LAYERS).contains(&layers) {
            return Err(error(
                Kind::Config,
                format!("layers must be between 1 and {}, got {layers}", wmark_core::MAX_SYNTHID_LAYERS),
            ));
        }
        Ok(PyKey { key: Key::generate_synthid(layers).map_err(errors::core)? })
    }

    /// Reads a key file (`wmark-key-v1:` + 64 hex digits, `wmark-vllm-key-v1:` + a vLLM key in
    /// decimal, or `wmark-hf-key-v1:` + a Hugging Face hashing key), as the command line does: a file that group or others can read is
    /// refused (`chmod 600` it).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<PyKey> {
        let key = Key::load(&path).map_err(|e| {
            let kind = if e.is_insecure_key_file() {
                Kind::InsecureKeyFile
            } else if e.is_io() {
                Kind::Io
            } else {
                Kind::KeyFile
            };
            error(kind, e.to_string())
        })?;
        Ok(PyKey { key })
    }

    /// Wraps 32 bytes you already hold (a key from a vault, a test vector).
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<PyKey> {
        let bytes: [u8; 32] =
            data.try_into().map_err(|_| error(Kind::Config, format!("a key is 32 bytes, got {}", data.len())))?;
        Ok(PyKey { key: Key::from_bytes(bytes) })
    }

    /// Writes the key to a new file with mode 0600 (`wmark-key-v1:<hex>`, or
    /// `wmark-vllm-key-v1:<decimal>` for a vLLM key); an existing file is never overwritten.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.key.save_new(&path).map_err(|e| {
            let kind = if e.is_io() { Kind::Io } else { Kind::KeyFile };
            error(kind, e.to_string())
        })
    }

    /// The key of one customer account, derived from this (master) key:
    /// HMAC-SHA256(master, "wmark.v1" 0x00 "account" 0x00 utf8(account)). Any string is an
    /// account id here, as in wmark-core (`wmark keygen --account` also refuses empty ids and
    /// ids with surrounding spaces, as likely typos).
    fn derive_account(&self, account: &str) -> PyKey {
        PyKey { key: self.key.derive_account(account) }
    }

    /// The public id: 16 lowercase hex digits, safe to log and store beside reports.
    #[getter]
    fn id(&self) -> String {
        self.key.id().to_string()
    }

    /// "v1" for a key of wmark's own schemes, "vllm" for a vLLM key, "hf" for a Hugging Face
    /// hashing key.
    #[getter]
    fn kind(&self) -> &'static str {
        kind_name(self.key.kind())
    }

    fn __repr__(&self) -> String {
        match self.key.kind() {
            KeyKind::V1 => format!("Key(id='{}')", self.key.id()),
            KeyKind::Vllm => format!("Key(id='{}', kind='vllm')", self.key.id()),
            KeyKind::Hf => format!("Key(id='{}', kind='hf')", self.key.id()),
            KeyKind::SynthId => format!(
                "Key(id='{}', kind='synthid', layers={})",
                self.key.id(),
                self.key.dangerous_expose_secret_bytes().len() / 8
            ),
        }
    }

    /// Constant-time comparison of the secret bytes.
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyKey>().is_ok_and(|o| o.get().key == self.key)
    }

    fn __hash__(&self) -> u64 {
        u64::from_le_bytes(*self.key.id().as_bytes())
    }

    /// Keys are not pickled: a secret should not travel by accident.
    fn __reduce__(&self) -> PyResult<()> {
        Err(pyo3::exceptions::PyTypeError::new_err("wmark.Key cannot be pickled; save() it to a file instead"))
    }
}

/// Converts a Python key argument (a `Key`, or a sequence of them) into keys.
pub fn keys_of(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Key>> {
    if let Ok(k) = obj.cast::<PyKey>() {
        return Ok(vec![k.get().key.clone()]);
    }
    let mut out = Vec::new();
    for item in obj.try_iter().map_err(|_| error(Kind::Input, "keys must be a wmark.Key or a sequence of them"))? {
        let item = item?;
        let k =
            item.cast::<PyKey>().map_err(|_| error(Kind::Input, "keys must be a wmark.Key or a sequence of them"))?;
        out.push(k.get().key.clone());
    }
    Ok(out)
}

/// A validated watermark configuration, checked as the command line checks it.
#[pyclass(name = "Config", module = "wmark", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyConfig {
    pub config: Config,
}

/// The defaults of `Config(gamma=..., delta=...)`: a Gumbel-max scheme accepts only these.
const DEFAULT_GAMMA: f64 = 0.25;
const DEFAULT_DELTA: f64 = 2.0;

impl PyConfig {
    fn is_gumbel(&self) -> bool {
        self.config.seeding().is_gumbel()
    }

    fn is_synthid(&self) -> bool {
        self.config.seeding().synthid_ngram_len().is_some()
    }

    /// Refuses the Gumbel-max schemes where a green list is needed, and the detect-only
    /// Hugging Face schemes.
    pub fn require_green_list(&self, what: &str) -> PyResult<()> {
        if self.config.seeding().is_detect_only() {
            return Err(error(
                Kind::Config,
                format!(
                    "{what} covers wmark's own schemes; {} (Hugging Face's) is detected with wmark.Detector",
                    self.config.seeding()
                ),
            ));
        }
        if self.is_gumbel() {
            return Err(error(
                Kind::Config,
                format!(
                    "the Gumbel-max scheme {} has no green list, so {what} does not apply; \
                     generate with wmark.GumbelSampler and detect with wmark.Detector",
                    self.config.seeding()
                ),
            ));
        }
        if self.is_synthid() {
            return Err(error(
                Kind::Config,
                format!(
                    "SynthID-Text ({}) has no green list, so {what} does not apply; \
                     generate with wmark.SynthIdProcessor and detect with wmark.Detector",
                    self.config.seeding()
                ),
            ));
        }
        Ok(())
    }
}

#[pymethods]
impl PyConfig {
    /// `gamma` and `delta` belong to the green-list schemes: with a Gumbel-max scheme
    /// (`gumbel:h`, `vllm-gumbel:w`, `vllm-dual-key-gumbel:w`) they must keep their defaults.
    /// `alpha`, the weight of key B, applies to `vllm-dual-key-gumbel:w` only (default 0.1).
    /// `sampling_table_size` (default 65536) and `sampling_table_seed` (default 0) apply to
    /// `hf-synthid:n` only, which has no gamma or delta either.
    #[new]
    #[pyo3(signature = (
        scheme = "lefthash", gamma = 0.25, delta = 2.0, *, vocab_size, alpha = None,
        sampling_table_size = None, sampling_table_seed = None
    ))]
    fn new(
        scheme: &str,
        gamma: f64,
        delta: f64,
        vocab_size: i64,
        alpha: Option<f64>,
        sampling_table_size: Option<i64>,
        sampling_table_seed: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyConfig> {
        let seeding: Seeding = scheme.parse().map_err(errors::core)?;
        let vocab = u32::try_from(vocab_size).map_err(|_| {
            error(Kind::Config, format!("vocab_size must be between 1 and 4294967295, got {vocab_size}"))
        })?;
        let synthid = seeding.synthid_ngram_len().is_some();
        if !synthid && (sampling_table_size.is_some() || sampling_table_seed.is_some()) {
            return Err(error(
                Kind::Config,
                format!("sampling_table_size and sampling_table_seed apply to hf-synthid only, not to {seeding}"),
            ));
        }
        let config = if seeding.is_gumbel() || synthid {
            // NaN differs from the defaults too.
            if gamma != DEFAULT_GAMMA || delta != DEFAULT_DELTA {
                return Err(error(
                    Kind::Config,
                    format!("{seeding} has no green list: gamma and delta do not apply (leave them out)"),
                ));
            }
            if synthid {
                let size = match sampling_table_size {
                    None => wmark_core::DEFAULT_SYNTHID_TABLE_SIZE,
                    Some(n) => u32::try_from(n).map_err(|_| {
                        error(Kind::Config, format!("sampling_table_size must be between 1 and 2**24, got {n}"))
                    })?,
                };
                let seed: u64 = match sampling_table_seed {
                    None => 0,
                    Some(s) if s.is_instance_of::<PyBool>() => {
                        return Err(PyTypeError::new_err("sampling_table_seed is an int, not a bool"))
                    }
                    Some(s) => s
                        .extract()
                        .map_err(|_| error(Kind::Config, "sampling_table_seed is an integer from 0 to 2**64 - 1"))?,
                };
                Config::synthid(seeding, vocab, size, seed).map_err(errors::core)?
            } else {
                Config::gumbel(seeding, vocab).map_err(errors::core)?
            }
        } else {
            let d = delta as f32;
            if delta.is_finite() && !d.is_finite() {
                return Err(error(Kind::Config, format!("delta {delta} does not fit a 32-bit float")));
            }
            Config::new(seeding, gamma, d, vocab).map_err(errors::core)?
        };
        let config = match alpha {
            None => config,
            Some(_) if !matches!(seeding, Seeding::VllmDualKeyGumbel(_)) => {
                return Err(error(
                    Kind::Config,
                    format!("alpha applies to vllm-dual-key-gumbel only, not to {seeding}"),
                ));
            }
            Some(a) => config.with_alpha(a).map_err(errors::core)?,
        };
        Ok(PyConfig { config })
    }

    /// The seeding rule's canonical name, e.g. `lefthash`, `minhash:4`, `gumbel:4`.
    #[getter]
    fn scheme(&self) -> String {
        self.config.seeding().to_string()
    }

    /// True for the Gumbel-max schemes (`gumbel:h`, `vllm-gumbel:w`, `vllm-dual-key-gumbel:w`).
    #[getter(is_gumbel)]
    fn get_is_gumbel(&self) -> bool {
        self.is_gumbel()
    }

    /// The effective green fraction G/256 that every statistic uses (None for Gumbel-max
    /// and SynthID-Text).
    #[getter]
    fn gamma(&self) -> Option<f64> {
        (!self.is_gumbel() && !self.is_synthid()).then(|| self.config.gamma_effective())
    }

    /// The dedup mode the scheme is tested with unless told otherwise: "tuple" for the green
    /// lists, "window" for the Gumbel-max schemes and hf-synthid.
    #[getter]
    fn default_dedup(&self) -> String {
        wmark_detect::Dedup::default_for(&self.config).to_string()
    }

    /// `hf-synthid` only: the sampling table's (size, seed, share of ones); None otherwise.
    #[getter]
    fn sampling_table(&self) -> Option<(u32, u64, f64)> {
        self.config.synthid_table()
    }

    /// G: a token is green iff its keystream byte is below this (None for Gumbel-max and
    /// for the Hugging Face schemes, whose gamma is int(V * greenlist_ratio) / V).
    #[getter]
    fn green_threshold(&self) -> Option<u8> {
        (!self.is_gumbel() && !self.is_synthid() && !self.config.seeding().is_detect_only())
            .then(|| self.config.green_threshold())
    }

    /// The bias added to green logits (None for Gumbel-max and SynthID-Text).
    #[getter]
    fn delta(&self) -> Option<f32> {
        (!self.is_gumbel() && !self.is_synthid()).then(|| self.config.delta())
    }

    /// The Hugging Face schemes' `greenlist_ratio` as given (None for the others; `gamma` is
    /// the exact share of green ids it makes, int(vocab_size * ratio) / vocab_size).
    #[getter]
    fn greenlist_ratio(&self) -> Option<f64> {
        self.config.hf_greenlist_ratio()
    }

    /// The weight of key B of `vllm-dual-key-gumbel` (None for every other scheme).
    #[getter]
    fn alpha(&self) -> Option<f64> {
        matches!(self.config.seeding(), Seeding::VllmDualKeyGumbel(_)).then(|| self.config.alpha())
    }

    /// The width of the model's logits row.
    #[getter]
    fn vocab_size(&self) -> u32 {
        self.config.vocab_size()
    }

    /// How many tokens before a position the seeding rule reads (0 for the vLLM schemes,
    /// whose context is the generated tokens, with -1 before the first).
    #[getter]
    fn context_len(&self) -> usize {
        self.config.seeding().context_len()
    }

    /// The kind of key the scheme needs: "v1" (wmark's schemes) or "vllm" (the `vllm-*` ones).
    #[getter]
    fn key_kind(&self) -> &'static str {
        kind_name(self.config.seeding().key_kind())
    }

    fn __repr__(&self) -> String {
        let seeding = self.config.seeding();
        match seeding {
            Seeding::VllmDualKeyGumbel(_) => format!(
                "Config(scheme='{seeding}', vocab_size={}, alpha={:?})",
                self.config.vocab_size(),
                self.config.alpha()
            ),
            _ if seeding.is_gumbel() => format!("Config(scheme='{seeding}', vocab_size={})", self.config.vocab_size()),
            _ if self.is_synthid() => {
                let (size, seed, _) = self.config.synthid_table().expect("hf-synthid");
                format!(
                    "Config(scheme='{seeding}', vocab_size={}, sampling_table_size={size}, sampling_table_seed={seed})",
                    self.config.vocab_size()
                )
            }
            _ if seeding.is_detect_only() => format!(
                "Config(scheme='{seeding}', gamma={:?}, vocab_size={})",
                self.config.hf_greenlist_ratio().unwrap_or_default(),
                self.config.vocab_size()
            ),
            _ => format!(
                "Config(scheme='{seeding}', gamma={:?}, delta={:?}, vocab_size={})",
                self.config.gamma_effective(),
                self.config.delta(),
                self.config.vocab_size()
            ),
        }
    }
}

/// A key and a configuration compiled for green-list queries (wmark_core::Watermark).
#[pyclass(name = "Watermark", module = "wmark", frozen)]
pub struct PyWatermark {
    wm: Watermark,
    config: PyConfig,
}

fn seed_bytes<'py>(py: Python<'py>, seed: &Seed) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &seed.0)
}

/// Every green id after `context`, as the command line's `inspect` lists them.
fn green_ids(wm: &Watermark, context: &[u32]) -> PyResult<Vec<u32>> {
    let seeder = wm.seeder(context).map_err(errors::core)?;
    let vocab = wm.config().vocab_size();
    Ok(match seeder.shared_seed() {
        Some(seed) => {
            let mut mask = GreenMask::new(vocab);
            wm.fill_mask(seed, &mut mask);
            mask.iter().collect()
        }
        None => (0..vocab).filter(|&t| seeder.is_green(t)).collect(),
    })
}

#[pymethods]
impl PyWatermark {
    /// A green-list configuration (not a Gumbel-max one) and a key of its kind.
    #[new]
    fn new(config: PyRef<'_, PyConfig>, key: PyRef<'_, PyKey>) -> PyResult<PyWatermark> {
        config.require_green_list("Watermark")?;
        check_key_kind(&config.config, &key.key)?;
        Ok(PyWatermark { wm: Watermark::new(&key.key, config.config), config: config.clone() })
    }

    #[getter]
    fn config(&self) -> PyConfig {
        self.config.clone()
    }

    #[getter]
    fn key_id(&self) -> String {
        self.wm.key_id().to_string()
    }

    /// True if `token` is green after `context` (any rule; ids >= vocab_size are never green).
    fn is_green(&self, context: &Bound<'_, PyAny>, token: u32) -> PyResult<bool> {
        let context = ids::ids_tail(context, Some(self.wm.context_len()))?;
        self.wm.is_green(&context, token).map_err(errors::core)
    }

    /// The 32-byte seed deciding `candidate` after `context` (the context seed, except for
    /// `selfhash`, where a candidate is required).
    #[pyo3(signature = (context, candidate = None))]
    fn seed<'py>(
        &self,
        py: Python<'py>,
        context: &Bound<'py, PyAny>,
        candidate: Option<u32>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let context = ids::ids_tail(context, Some(self.wm.context_len()))?;
        let seed = match candidate {
            Some(c) => self.wm.candidate_seed(&context, c),
            None => self.wm.context_seed(&context),
        }
        .map_err(errors::core)?;
        Ok(seed_bytes(py, &seed))
    }

    /// Every green id after `context`, ascending, as a uint32 array.
    fn green_list<'py>(&self, py: Python<'py>, context: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let context = ids::ids_tail(context, Some(self.wm.context_len()))?;
        let wm = &self.wm;
        let greens = py.detach(|| green_ids(wm, &context))?;
        Ok(PyArray1::from_vec(py, greens))
    }

    /// The keyed token hash F(token) of the min-hash rules, a 64-bit int.
    fn token_hash(&self, token: u32) -> u64 {
        self.wm.token_hash(token)
    }

    fn __repr__(&self) -> String {
        format!("Watermark(config={}, key_id='{}')", self.config.__repr__(), self.wm.key_id())
    }
}

/// The green list after a context, or one token's membership: what `wmark inspect` shows.
///
/// Without `token`: every green id, ascending (uint32 array). With `token`: a dict with the
/// token, whether it is green, its keystream byte, the threshold G, the seed (hex) and
/// whether the id is inside the vocabulary.
#[pyfunction]
#[pyo3(signature = (config, key, context, token = None))]
pub fn inspect<'py>(
    py: Python<'py>,
    config: PyRef<'py, PyConfig>,
    key: PyRef<'py, PyKey>,
    context: &Bound<'py, PyAny>,
    token: Option<u32>,
) -> PyResult<Bound<'py, PyAny>> {
    config.require_green_list("inspect")?;
    check_key_kind(&config.config, &key.key)?;
    let wm = Watermark::new(&key.key, config.config);
    let context = ids::ids(context)?;
    let need = wm.context_len();
    if context.len() < need {
        return Err(error(
            Kind::ContextTooShort,
            format!("{} needs {need} context token(s); the context has {}", config.config.seeding(), context.len()),
        ));
    }
    match token {
        Some(t) => {
            let seeder = wm.seeder(&context).map_err(errors::core)?;
            let seed = seeder.seed(t);
            let d = PyDict::new(py);
            d.set_item("token", t)?;
            d.set_item("green", wm.is_green_in(&seed, t))?;
            d.set_item("stream_byte", seed.byte_at(t))?;
            d.set_item("threshold", config.config.green_threshold())?;
            d.set_item("seed", seed.0.iter().map(|b| format!("{b:02x}")).collect::<String>())?;
            d.set_item("in_vocab", t < config.config.vocab_size())?;
            Ok(d.into_any())
        }
        None => {
            let greens = py.detach(|| green_ids(&wm, &context))?;
            Ok(PyArray1::from_vec(py, greens).into_any())
        }
    }
}

/// The most bytes one `stream_bytes` call returns (1 GiB): a larger request is an error
/// instead of an allocation that aborts the interpreter.
const MAX_STREAM_BYTES: usize = 1 << 30;

/// `length` bytes of the ChaCha8 keystream of a 32-byte seed, from byte `offset` (any offset),
/// at most [`MAX_STREAM_BYTES`].
#[pyfunction]
pub fn stream_bytes<'py>(py: Python<'py>, seed: &[u8], offset: u64, length: usize) -> PyResult<Bound<'py, PyBytes>> {
    let seed: [u8; 32] =
        seed.try_into().map_err(|_| error(Kind::Input, format!("a seed is 32 bytes, got {}", seed.len())))?;
    if length > MAX_STREAM_BYTES {
        return Err(error(
            Kind::Input,
            format!("length {length} is over the {MAX_STREAM_BYTES} bytes one call returns; ask in pieces"),
        ));
    }
    let start = offset / 4 * 4;
    let skip = (offset - start) as usize;
    let mut stream = Seed(seed).stream();
    stream.seek(start);
    let mut buf = vec![0u8; (skip + length).div_ceil(4) * 4];
    stream.fill(&mut buf);
    Ok(PyBytes::new(py, &buf[skip..skip + length]))
}
