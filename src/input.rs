//! Documents from files, stdin, JSON Lines or id lists, streamed one at a time so that memory
//! stays bounded on large inputs.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use wmark_detect::normalize::Options as NormalizeOptions;
use wmark_detect::TextTokenizer;

use crate::fail::{Fail, Result};

/// What a document holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Text to tokenise.
    Text(String),
    /// Token ids.
    Ids(Vec<u32>),
}

/// One document and where it came from (`file`, `file:line`, `-:line`).
#[derive(Clone, Debug)]
pub struct Doc {
    pub source: String,
    pub body: Body,
}

/// How inputs are cut into documents.
#[derive(Clone, Debug, Default)]
pub struct Format {
    /// Each line is a JSON object; the document is this field.
    pub jsonl_field: Option<String>,
    /// Documents are token ids (a JSON array per line, or in the JSONL field).
    pub ids: bool,
}

/// A source of documents, or a per-document problem (reported, then skipped).
pub type Item = std::result::Result<Doc, Fail>;

/// Every document of `paths` (`-` is stdin; no path at all means stdin), in order.
pub fn documents(paths: &[PathBuf], format: &Format) -> impl Iterator<Item = Item> {
    let paths: Vec<PathBuf> = if paths.is_empty() { vec![PathBuf::from("-")] } else { paths.to_vec() };
    let format = format.clone();
    paths.into_iter().flat_map(move |p| per_source(p, format.clone()))
}

fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::new(std::io::stdin())));
    }
    let f = File::open(path).map_err(|e| Fail::io(path, &e))?;
    if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Fail::usage(format!("{}: is a directory", path.display())));
    }
    Ok(Box::new(BufReader::with_capacity(1 << 16, f)))
}

fn per_source(path: PathBuf, format: Format) -> Box<dyn Iterator<Item = Item>> {
    let name = path.display().to_string();
    let mut reader = match open(&path) {
        Ok(r) => r,
        Err(e) => return Box::new(std::iter::once(Err(e))),
    };
    if format.jsonl_field.is_none() && !format.ids {
        let mut text = String::new();
        return Box::new(std::iter::once(match reader.read_to_string(&mut text) {
            Ok(_) => Ok(Doc { source: name, body: Body::Text(text) }),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                Err(Fail::usage(format!("{name}: not UTF-8 text")))
            }
            Err(e) => Err(Fail::io(&path, &e)),
        }));
    }
    let mut line_no = 0usize;
    let mut buf = String::new();
    Box::new(std::iter::from_fn(move || loop {
        buf.clear();
        line_no += 1;
        match reader.read_line(&mut buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => {
                let msg = if e.kind() == std::io::ErrorKind::InvalidData {
                    "not UTF-8 text".to_string()
                } else {
                    e.to_string()
                };
                return Some(Err(Fail::usage(format!("{name}:{line_no}: {msg}"))));
            }
        }
        let line = buf.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let source = format!("{name}:{line_no}");
        return Some(
            parse_line(line, &format)
                .map(|body| Doc { source: source.clone(), body })
                .map_err(|m| Fail::usage(format!("{source}: {m}"))),
        );
    }))
}

fn parse_line(line: &str, format: &Format) -> std::result::Result<Body, String> {
    // A plain line of ids straight into a vector (no JSON tree: 10^6 ids parse about twice
    // as fast); anything it refuses goes the general way below, which names the problem.
    if format.ids && format.jsonl_field.is_none() {
        if let Ok(ids) = serde_json::from_str::<Vec<u32>>(line) {
            return Ok(Body::Ids(ids));
        }
    }
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON ({e})"))?;
    let value = match &format.jsonl_field {
        Some(field) => match value {
            serde_json::Value::Object(mut m) => {
                m.remove(field).ok_or_else(|| format!("no field {field:?} in this object"))?
            }
            _ => return Err("expected a JSON object on each line".into()),
        },
        None => value,
    };
    if format.ids {
        let arr = value.as_array().ok_or("expected a JSON array of token ids")?;
        let ids = arr
            .iter()
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| format!("{v} is not a token id (0 to 4294967295)"))
            })
            .collect::<std::result::Result<Vec<u32>, String>>()?;
        Ok(Body::Ids(ids))
    } else {
        match value {
            serde_json::Value::String(s) => Ok(Body::Text(s)),
            other => Err(format!("expected a string, found {}", kind(&other))),
        }
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The ids the detector scores for `text`: normalised (NFC, invisible characters removed,
/// mixed-script homoglyphs mapped), then encoded. Errors name `source`.
pub fn encode_text(tokenizer: &TextTokenizer, text: &str, source: &str) -> Result<Vec<u32>> {
    tokenizer
        .encode_normalized_ids(text, &NormalizeOptions::default(), wmark_detect::CHUNK_BYTES)
        .map(|(ids, _)| ids)
        .map_err(|e| Fail::usage(format!("{source}: {e}")))
}

/// Every regular file under `path` (recursively for directories), sorted; `-` as is.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p != Path::new("-") && p.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(|e| Fail::io(dir, &e))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, out)?;
        } else if e.is_file() && !e.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            out.push(e);
        }
    }
    Ok(())
}
