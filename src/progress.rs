//! Progress of long jobs on stderr: documents and tokens, with their rates. Shown only when
//! stderr is a terminal; silent in pipes, files and CI.

use std::io::IsTerminal;
use std::time::Instant;

/// A spinner line: `⠋ 1.2k documents (310/s) · 2.4M tokens (610.0k/s) [00:04]`.
pub struct Progress {
    bar: indicatif::ProgressBar,
    what: String,
    docs: u64,
    tokens: u64,
    started: Instant,
}

impl Progress {
    /// A progress line for `what` (a plural noun, e.g. "documents", "answers"); hidden
    /// unless `enabled` and stderr is a terminal.
    pub fn new(enabled: bool, what: &str) -> Progress {
        let bar = if enabled && std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new_spinner();
            let template = "{spinner} {msg} [{elapsed}]";
            bar.set_style(indicatif::ProgressStyle::with_template(template).expect("valid template"));
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        Progress { bar, what: what.to_string(), docs: 0, tokens: 0, started: Instant::now() }
    }

    /// One more document of `tokens` tokens.
    pub fn add(&mut self, tokens: u64) {
        self.tokens += tokens;
        self.docs += 1;
        if !self.bar.is_hidden() {
            let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
            self.bar.set_message(format!(
                "{} {} ({}/s) · {} tokens ({}/s)",
                short(self.docs as f64),
                self.what,
                short(self.docs as f64 / seconds),
                short(self.tokens as f64),
                short(self.tokens as f64 / seconds)
            ));
        }
    }

    /// Runs `f` (a message on stderr) without garbling the line.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Removes the line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// 1234 → "1.2k", 2_400_000 → "2.4M".
fn short(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.1}G", x / 1e9),
        x if x >= 1e6 => format!("{:.1}M", x / 1e6),
        x if x >= 1e3 => format!("{:.1}k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_numbers() {
        assert_eq!(super::short(12.0), "12");
        assert_eq!(super::short(1234.0), "1.2k");
        assert_eq!(super::short(2_400_000.0), "2.4M");
        assert_eq!(super::short(3.2e9), "3.2G");
    }
}
