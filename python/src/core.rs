//! `wmark.Key`, `wmark.Config`, `wmark.Watermark`, `wmark.inspect` and `wmark.stream_bytes`:
//! wmark-core from Python.

use std::path::PathBuf;

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use wmark_core::{Config, GreenMask, Key, Seed, Seeding, Watermark};

use crate::errors::{self, error, Kind};
use crate::ids;

/// A 256-bit watermark secret. Neither `repr` nor `str` shows it: only its public id.
#[pyclass(name = "Key", module = "wmark", frozen)]
pub struct PyKey {
    pub key: Key,
}

#[pymethods]
impl PyKey {
    /// A fresh key from the operating system's random source.
    #[staticmethod]
    fn generate() -> PyResult<PyKey> {
        Ok(PyKey { key: Key::generate().map_err(errors::core)? })
    }

    /// Reads a key file (`wmark-key-v1:` + 64 hex digits), as the command line does: a file
    /// that group or others can read is refused (`chmod 600` it).
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

    /// Writes the key to a new file with mode 0600; an existing file is never overwritten.
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

    fn __repr__(&self) -> String {
        format!("Key(id='{}')", self.key.id())
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

#[pymethods]
impl PyConfig {
    #[new]
    #[pyo3(signature = (scheme = "lefthash", gamma = 0.25, delta = 2.0, *, vocab_size))]
    fn new(scheme: &str, gamma: f64, delta: f64, vocab_size: i64) -> PyResult<PyConfig> {
        let seeding: Seeding = scheme.parse().map_err(errors::core)?;
        let vocab = u32::try_from(vocab_size).map_err(|_| {
            error(Kind::Config, format!("vocab_size must be between 1 and 4294967295, got {vocab_size}"))
        })?;
        let d = delta as f32;
        if delta.is_finite() && !d.is_finite() {
            return Err(error(Kind::Config, format!("delta {delta} does not fit a 32-bit float")));
        }
        Ok(PyConfig { config: Config::new(seeding, gamma, d, vocab).map_err(errors::core)? })
    }

    /// The seeding rule's canonical name, e.g. `lefthash`, `minhash:4`.
    #[getter]
    fn scheme(&self) -> String {
        self.config.seeding().to_string()
    }

    /// The effective green fraction G/256 that every statistic uses.
    #[getter]
    fn gamma(&self) -> f64 {
        self.config.gamma_effective()
    }

    /// G: a token is green iff its keystream byte is below this.
    #[getter]
    fn green_threshold(&self) -> u8 {
        self.config.green_threshold()
    }

    /// The bias added to green logits.
    #[getter]
    fn delta(&self) -> f32 {
        self.config.delta()
    }

    /// The width of the model's logits row.
    #[getter]
    fn vocab_size(&self) -> u32 {
        self.config.vocab_size()
    }

    /// How many tokens before a position the seeding rule reads.
    #[getter]
    fn context_len(&self) -> usize {
        self.config.seeding().context_len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Config(scheme='{}', gamma={:?}, delta={:?}, vocab_size={})",
            self.config.seeding(),
            self.config.gamma_effective(),
            self.config.delta(),
            self.config.vocab_size()
        )
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
    #[new]
    fn new(config: PyRef<'_, PyConfig>, key: PyRef<'_, PyKey>) -> PyWatermark {
        PyWatermark { wm: Watermark::new(&key.key, config.config), config: config.clone() }
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

/// `length` bytes of the ChaCha8 keystream of a 32-byte seed, from byte `offset` (any offset).
#[pyfunction]
pub fn stream_bytes<'py>(py: Python<'py>, seed: &[u8], offset: u64, length: usize) -> PyResult<Bound<'py, PyBytes>> {
    let seed: [u8; 32] =
        seed.try_into().map_err(|_| error(Kind::Input, format!("a seed is 32 bytes, got {}", seed.len())))?;
    let start = offset / 4 * 4;
    let skip = (offset - start) as usize;
    let mut stream = Seed(seed).stream();
    stream.seek(start);
    let mut buf = vec![0u8; (skip + length).div_ceil(4) * 4];
    stream.fill(&mut buf);
    Ok(PyBytes::new(py, &buf[skip..skip + length]))
}
