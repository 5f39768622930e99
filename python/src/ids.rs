//! Token ids from Python: a numpy array of any integer type (read in place) or a sequence of
//! ints. A negative id, or one past `u32`, is an `InputError`, never wrapped around.

use numpy::{PyArrayDescrMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::errors::{error, Kind};

fn check(i: usize, v: i64) -> PyResult<u32> {
    u32::try_from(v)
        .map_err(|_| error(Kind::Input, format!("token id {v} at position {i} is not a token id (0 to 4294967295)")))
}

fn check_u64(i: usize, v: u64) -> PyResult<u32> {
    u32::try_from(v)
        .map_err(|_| error(Kind::Input, format!("token id {v} at position {i} is not a token id (0 to 4294967295)")))
}

/// Whether a numpy array can be read or written in place: its data aligned for its type and
/// every byte stride a multiple of its item size. A field of a packed record array
/// (`np.zeros(n, [("pad", "u1"), ("v", "u4")])["v"]`) is neither, and numpy's view of it
/// cannot be indexed by element. Anything that is not a numpy array is "in place" (it is
/// converted, not viewed).
pub fn in_place_layout(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let Ok(arr) = obj.cast::<PyUntypedArray>() else {
        return Ok(true);
    };
    let item = arr.dtype().itemsize() as isize;
    let aligned: bool = obj.getattr("flags")?.getattr("aligned")?.extract()?;
    // An item size of 0 (dtype V0, S0) has nothing to misread; such arrays are refused later
    // by their dtype, and a copy would not change the layout (so no endless retry).
    Ok(item == 0 || (aligned && arr.strides().iter().all(|s| s % item == 0)))
}

/// For an array that is written in place: when it is writable but its layout cannot be
/// written in place ([`in_place_layout`]), runs `f` on an aligned, contiguous copy and copies
/// the result back with `numpy.copyto`; `None` when the array can be used as it is (or is
/// read-only, which the caller refuses).
pub fn via_aligned_copy<'py, R>(
    obj: &Bound<'py, PyAny>,
    f: impl FnOnce(&Bound<'py, PyAny>) -> PyResult<R>,
) -> PyResult<Option<R>> {
    if in_place_layout(obj)? || !obj.getattr("flags")?.getattr("writeable")?.extract::<bool>()? {
        return Ok(None);
    }
    let copy = aligned_copy(obj)?;
    let result = f(&copy)?;
    obj.py().import("numpy")?.call_method1("copyto", (obj, &copy))?;
    Ok(Some(result))
}

/// `numpy.require(obj, requirements="CA")`: an aligned, C-contiguous copy of an array whose
/// layout cannot be read in place.
fn aligned_copy<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    obj.py().import("numpy")?.call_method1("require", (obj, obj.py().None(), "CA"))
}

/// The most ids a sequence may hold: a `len()` beyond this is refused before anything is
/// allocated (a sequence can claim any length).
const MAX_IDS: usize = u32::MAX as usize;

/// The ids of a 1-D array or sequence. `tail`: only the last `tail` ids are converted.
pub fn ids_tail(obj: &Bound<'_, PyAny>, tail: Option<usize>) -> PyResult<Vec<u32>> {
    if !in_place_layout(obj)? {
        return ids_tail(&aligned_copy(obj)?, tail);
    }
    macro_rules! try_array {
        ($t:ty, $conv:expr) => {
            if let Ok(a) = obj.extract::<PyReadonlyArray1<'_, $t>>() {
                let a = a.as_array();
                let from = tail.map_or(0, |t| a.len().saturating_sub(t));
                return a.iter().enumerate().skip(from).map(|(i, &v)| $conv(i, v)).collect();
            }
        };
    }
    try_array!(i64, |i, v: i64| check(i, v));
    try_array!(i32, |i, v: i32| check(i, i64::from(v)));
    try_array!(u32, |_i, v: u32| Ok(v));
    try_array!(u64, |i, v: u64| check_u64(i, v));
    try_array!(u16, |_i, v: u16| Ok(u32::from(v)));
    try_array!(i16, |i, v: i16| check(i, i64::from(v)));
    try_array!(u8, |_i, v: u8| Ok(u32::from(v)));
    try_array!(i8, |i, v: i8| check(i, i64::from(v)));
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(error(Kind::Input, "expected token ids (a sequence of ints or an integer array), got a string"));
    }
    if !obj.is_instance_of::<PyUntypedArray>() && obj.hasattr("__array__")? {
        // A torch tensor (on the CPU) or another array-like: its numpy view, then as above.
        let arr = obj.py().import("numpy")?.call_method1("asarray", (obj,))?;
        if arr.is_instance_of::<PyUntypedArray>() {
            return ids_tail(&arr, tail);
        }
    }
    if let Ok(arr) = obj.getattr("dtype") {
        // A numpy array of another dtype (float, bool, a 2-D array...): refuse clearly.
        if obj.hasattr("ndim")? {
            return Err(error(
                Kind::Input,
                format!(
                    "expected a 1-D integer array of token ids, got dtype {} with ndim {}",
                    arr,
                    obj.getattr("ndim")?
                ),
            ));
        }
    }
    let len =
        obj.len().map_err(|_| error(Kind::Input, "expected token ids (a sequence of ints or an integer array)"))?;
    if len > MAX_IDS {
        return Err(error(Kind::Input, format!("{len} token ids are more than the {MAX_IDS} one call takes")));
    }
    let from = tail.map_or(0, |t| len.saturating_sub(t));
    // Reserve only a bounded amount: `len()` is the object's claim, the items are the truth.
    let mut out = Vec::with_capacity((len - from).min(1 << 16));
    for i in from..len {
        let item = obj.get_item(i)?;
        let v: i64 =
            item.extract().map_err(|_| error(Kind::Input, format!("item {i} of the token ids is not an int")))?;
        out.push(check(i, v)?);
    }
    Ok(out)
}

/// Every id of a 1-D array or sequence.
pub fn ids(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
    ids_tail(obj, None)
}

/// The last `tail` ids of every row of a 2-D integer array, flattened, with the number kept
/// per row (`tail`, or fewer when the rows are shorter) and the number of rows: row `r` is
/// `flat[r * keep..(r + 1) * keep]`.
pub fn row_tails(obj: &Bound<'_, PyAny>, tail: usize) -> PyResult<(Vec<u32>, usize, usize)> {
    if !in_place_layout(obj)? {
        return row_tails(&aligned_copy(obj)?, tail);
    }
    macro_rules! try_array {
        ($t:ty, $conv:expr) => {
            if let Ok(a) = obj.extract::<PyReadonlyArray2<'_, $t>>() {
                let a = a.as_array();
                let (rows, cols) = a.dim();
                let keep = tail.min(cols);
                let mut flat = Vec::with_capacity(rows * keep);
                for row in a.rows() {
                    for j in cols - keep..cols {
                        flat.push($conv(j, row[j])?);
                    }
                }
                return Ok((flat, keep, rows));
            }
        };
    }
    try_array!(i64, |i, v: i64| check(i, v));
    try_array!(i32, |i, v: i32| check(i, i64::from(v)));
    try_array!(u32, |_i, v: u32| Ok::<u32, PyErr>(v));
    try_array!(u64, |i, v: u64| check_u64(i, v));
    Err(error(
        Kind::Input,
        "input_ids must be a 2-D integer array (batch x sequence) of int64, int32, uint32 or uint64",
    ))
}
