//! Presenting reports: one summary line, coloured tokens for a terminal, and an HTML page.

use std::io::Write;

use wmark_detect::{Report, Status, Verdict};

use crate::input::Body;

/// True if ANSI colours should be written to stdout: a terminal, and NO_COLOR unset or empty.
pub fn colors_enabled() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Watermarked => "watermarked",
        Verdict::NotWatermarked => "not_watermarked",
        Verdict::Insufficient => "insufficient",
    }
}

/// `p` in scientific notation, or `10^x` when it underflows a double.
pub fn format_p(log10_p: f64) -> String {
    if log10_p > -300.0 {
        format!("{:.3e}", 10f64.powf(log10_p))
    } else {
        format!("10^{log10_p:.1}")
    }
}

/// The one-line summary of a report.
pub fn summary(source: &str, r: &Report) -> String {
    let z = r.z.map_or_else(|| "-".to_string(), |z| format!("{z:.2}"));
    let evidence = match r.score {
        Some(score) => format!("score={score:.2}/{}", r.scored),
        None => format!("green={}/{}", r.green, r.scored),
    };
    let mut line = format!(
        "{source}: {} p={} log10_p={:.2} {evidence} z={z} key={}",
        verdict_word(r.verdict),
        format_p(r.log10_p),
        r.log10_p,
        r.key_id
    );
    for s in &r.spans {
        line.push_str(&format!(
            " span=tokens[{}..{}) p_corrected={}",
            s.token_start,
            s.token_end,
            format_p(s.log10_p_corrected)
        ));
    }
    line
}

/// The report as a JSON object with the document's source added.
pub fn json_line(source: &str, r: &Report) -> String {
    let mut v = serde_json::to_value(r).expect("reports serialise");
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("source".into(), serde_json::Value::String(source.to_string()));
    }
    v.to_string()
}

/// One piece of a highlighted document.
struct Piece<'a> {
    text: std::borrow::Cow<'a, str>,
    status: Option<Status>,
}

fn pieces<'a>(body: &'a Body, r: &Report) -> Vec<Piece<'a>> {
    let flags = r.token_flags.as_deref().unwrap_or(&[]);
    match body {
        Body::Ids(ids) => {
            // The scored tokens are the last `flags.len()` ids (a BOS may have been dropped).
            let skip = ids.len() - flags.len().min(ids.len());
            let mut out: Vec<Piece<'a>> =
                ids[..skip].iter().map(|id| Piece { text: format!("{id} ").into(), status: None }).collect();
            out.extend(flags.iter().map(|f| Piece { text: format!("{} ", f.id).into(), status: Some(f.status) }));
            out
        }
        Body::Text(text) => {
            let byte_of: Vec<usize> = text.char_indices().map(|(b, _)| b).chain(std::iter::once(text.len())).collect();
            let at = |c: Option<u64>| c.map_or(0, |c| byte_of[(c as usize).min(byte_of.len() - 1)]);
            let mut out = Vec::new();
            let mut pos = 0usize;
            for f in flags {
                let (a, b) = (at(f.char_start).max(pos), at(f.char_end).max(pos));
                if a > pos {
                    out.push(Piece { text: text[pos..a].into(), status: None });
                }
                if b > a {
                    out.push(Piece { text: text[a..b].into(), status: Some(f.status) });
                }
                pos = pos.max(b);
            }
            if pos < text.len() {
                out.push(Piece { text: text[pos..].into(), status: None });
            }
            out
        }
    }
}

/// Writes the document with green and red tokens coloured (or, without colours, green tokens
/// in `[brackets]`).
pub fn highlight(out: &mut impl Write, body: &Body, r: &Report, color: bool) -> std::io::Result<()> {
    for p in pieces(body, r) {
        match (p.status, color) {
            (Some(Status::Green), true) => write!(out, "\x1b[1;32m{}\x1b[0m", p.text)?,
            (Some(Status::Red), true) => write!(out, "\x1b[31m{}\x1b[0m", p.text)?,
            (Some(Status::Repeat), true) => write!(out, "\x1b[2m{}\x1b[0m", p.text)?,
            (Some(Status::Green), false) => write!(out, "[{}]", p.text)?,
            _ => write!(out, "{}", p.text)?,
        }
    }
    writeln!(out)
}

fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// A self-contained HTML page: every document with coloured tokens, its p-value, span and
/// the parameters.
pub fn html_page(docs: &[(String, Body, Report)]) -> String {
    let mut h = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>wmark detection report</title>\n<style>\
body{font:15px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}\
.doc{border:1px solid #ccc;border-radius:6px;padding:1em;margin:1.5em 0}\
.text{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:13px}\
.g{background:#c8f0c8}.r{background:#f6d0d0}.x{color:#888}.span{outline:2px solid #3867d6}\
table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #eee}\
.watermarked{color:#1a7f37;font-weight:bold}.not_watermarked{color:#555}.insufficient{color:#9a6700}\
</style></head><body>\n<h1>wmark detection report</h1>\n\
<p>Green tokens are <span class=\"g\">highlighted green</span>, scored red tokens <span class=\"r\">red</span>; \
repeats and tokens without full context are <span class=\"x\">grey</span>. The boxed region is the most significant span, when a window scan was run.</p>\n",
    );
    for (source, body, r) in docs {
        let verdict = verdict_word(r.verdict);
        h.push_str(&format!("<div class=\"doc\"><h2>{}</h2>\n<table>", escape(source)));
        let rows = [
            ("verdict", format!("<span class=\"{verdict}\">{verdict}</span> at α = {}", r.alpha)),
            ("p-value", format!("{} (log10 p = {:.3})", format_p(r.log10_p), r.log10_p)),
            ("green / scored", format!("{} / {} of {} tokens", r.green, r.scored, r.tokens)),
            ("z (for reference)", r.z.map_or("-".into(), |z| format!("{z:.2}"))),
            ("scheme, γ", format!("{}, γ = {}", escape(&r.scheme), r.gamma_effective)),
            ("key id", escape(&r.key_id)),
            (
                "dedup, normalised",
                format!("{}, {}", r.dedup, if r.normalized { "yes (text changed)" } else { "no change" }),
            ),
        ];
        for (k, v) in rows {
            h.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
        }
        for s in &r.spans {
            h.push_str(&format!(
                "<tr><th>best span</th><td>tokens {}..{}: {} / {} green, corrected p = {} over {} spans</td></tr>",
                s.token_start,
                s.token_end,
                s.green,
                s.scored,
                format_p(s.log10_p_corrected),
                s.windows_tested
            ));
        }
        h.push_str("</table>\n<div class=\"text\">");
        let span = r.spans.first().map(|s| (s.token_start, s.token_end));
        let mut token = 0u64;
        for p in pieces(body, r) {
            let class = match p.status {
                Some(Status::Green) => "g",
                Some(Status::Red) => "r",
                Some(_) => "x",
                None => "",
            };
            let in_span = p.status.is_some() && span.is_some_and(|(a, b)| token >= a && token < b);
            if p.status.is_some() {
                token += 1;
            }
            let cls = if in_span { format!("{class} span") } else { class.to_string() };
            if cls.is_empty() {
                h.push_str(&escape(&p.text));
            } else {
                h.push_str(&format!("<span class=\"{cls}\">{}</span>", escape(&p.text)));
            }
        }
        h.push_str("</div></div>\n");
    }
    h.push_str("</body></html>\n");
    h
}
