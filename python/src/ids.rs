//! Token ids from Python: a numpy array of any integer type (read in place) or a sequence of
//! ints. A negative id, or one past `u32`, is an `InputError`, never wrapped around.

use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArray};
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

/// The ids of a 1-D array or sequence. `tail`: only the last `tail` ids are converted.
pub fn ids_tail(obj: &Bound<'_, PyAny>, tail: Option<usize>) -> PyResult<Vec<u32>> {
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
    let from = tail.map_or(0, |t| len.saturating_sub(t));
    let mut out = Vec::with_capacity(len - from);
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
