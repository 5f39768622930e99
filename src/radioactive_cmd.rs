//! `wmark radioactive`: was a suspect model trained on our watermarked outputs?

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use wmark_detect::radioactive::{Radioactivity, RadioactivityOptions, RadioactivityVerdict};
use wmark_detect::{Dedup, TextTokenizer};

use crate::fail::{Fail, Result};
use crate::input::{self, Body, Format};
use crate::output::format_p;
use crate::progress::Progress;
use crate::settings::{KeyArgs, SchemeArgs};

/// Options of `wmark radioactive`.
pub struct RadioactiveOpts {
    pub answers: PathBuf,
    pub prompts: Option<PathBuf>,
    pub filter: Option<PathBuf>,
    pub format: Format,
    /// `None`: the scheme's default.
    pub dedup: Option<Dedup>,
    pub alpha: f64,
    pub json: bool,
}

fn ids_of(body: Body, tokenizer: Option<&TextTokenizer>, source: &str) -> Result<Vec<u32>> {
    match body {
        Body::Ids(ids) => Ok(ids),
        Body::Text(t) => {
            let tok = tokenizer.ok_or_else(|| Fail::usage("text input needs a tokenizer"))?;
            input::encode_text(tok, &t, source)
        }
    }
}

/// Feeds every document of `path` to `add`; a bad document stops the run (a corpus test
/// over a partly read corpus would be a different test).
fn feed(
    path: &PathBuf,
    format: &Format,
    tokenizer: Option<&TextTokenizer>,
    what: &str,
    mut add: impl FnMut(&[u32]) -> std::result::Result<(), wmark_detect::Error>,
) -> Result<()> {
    let mut progress = Progress::new(true, what);
    for item in input::documents(std::slice::from_ref(path), format) {
        let doc = item?;
        let ids = ids_of(doc.body, tokenizer, &doc.source)?;
        add(&ids).map_err(|e| Fail::usage(format!("{}: {e}", doc.source)))?;
        progress.add(ids.len() as u64);
    }
    progress.finish();
    Ok(())
}

/// `wmark radioactive`. Exit 0 if the answers are radioactive, 1 if not, 2 on error.
pub fn radioactive(keys: &KeyArgs, scheme: &SchemeArgs, o: RadioactiveOpts) -> Result<ExitCode> {
    let s = scheme.resolve(!o.format.ids)?;
    let key_list = keys.load_checked(&s)?;
    let options = RadioactivityOptions {
        dedup: o.dedup.unwrap_or_else(|| wmark_detect::Dedup::default_for(&s.config)),
        alpha: o.alpha,
        teacher_filter: o.filter.is_some(),
        bos_id: s.bos_id,
    };
    let mut test = Radioactivity::new(&key_list, s.config, options)?;
    let tok = s.tokenizer.as_ref();
    if let Some(p) = &o.prompts {
        feed(p, &o.format, tok, "prompts", |ids| test.add_prompt(ids))?;
    }
    if let Some(f) = &o.filter {
        feed(f, &o.format, tok, "teacher documents", |ids| test.add_teacher(ids))?;
    }
    feed(&o.answers, &o.format, tok, "answers", |ids| test.add_answer(ids))?;
    let r = test.finish();
    let mut out = std::io::stdout().lock();
    if o.json {
        writeln!(out, "{}", r.to_json())?;
    } else {
        let verdict = match r.verdict {
            RadioactivityVerdict::Radioactive => "radioactive",
            RadioactivityVerdict::NotRadioactive => "not_radioactive",
            RadioactivityVerdict::Insufficient => "insufficient",
        };
        let evidence = match r.score {
            Some(score) => format!("score={score:.2}/{}", r.scored),
            None => format!("green={}/{}", r.green, r.scored),
        };
        writeln!(
            out,
            "{}: {verdict} p={} log10_p={:.2} {evidence} ({} answers, {} tokens; not scored: {} repeats, {} prompt contexts, {} filtered, {} without context) key={}",
            o.answers.display(),
            format_p(r.log10_p),
            r.log10_p,
            r.answers,
            r.answer_tokens,
            r.repeats,
            r.excluded_prompt_context,
            r.filtered_out,
            r.no_context,
            r.key_id
        )?;
    }
    Ok(match r.verdict {
        RadioactivityVerdict::Radioactive => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}
