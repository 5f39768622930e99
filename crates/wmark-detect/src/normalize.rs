//! Undoing invisible edits to a suspect text before it is tokenized.
//!
//! An attacker who wants to hide a watermark without changing how the text *reads* can insert
//! zero-width or bidi control characters, write letters in decomposed Unicode form, or swap
//! Latin letters for look-alike Cyrillic or Greek ones ("homoglyphs"). Every one of these edits
//! changes the tokenization, and so the green-token count. [`normalize`] undoes them, in three
//! steps, always in this order:
//!
//! 1. **strip invisible** ([`Options::strip_invisible`]): remove zero-width, bidi and other
//!    format controls (the exact list is at [`Options::strip_invisible`]);
//! 2. **NFC** ([`Options::nfc`]): Unicode canonical composition, so `e` + U+0301 becomes `é`;
//! 3. **confusables** ([`Options::confusables`]): inside *mixed-script* words only, replace a
//!    non-ASCII homoglyph by the ASCII letter it imitates (`Тhe` with a Cyrillic `Т` becomes
//!    `The`), and outside East Asian text, replace fullwidth ASCII forms (`ｈｅｌｌｏ`) by ASCII.
//!
//! Stripping comes first, so that `pay\u{200B}раl` is seen as the single (mixed-script) word
//! `payраl`; NFC comes before the confusables step, so that a decomposed homoglyph is looked up
//! in its composed form.
//!
//! # What survives untouched
//!
//! Genuine text must come out exactly as it went in, or the tokens of genuinely watermarked
//! text would change:
//!
//! * **ASCII text is returned byte for byte**, whatever it contains: no step ever changes an
//!   ASCII character (the confusable data maps `1` to `l` and `0` to `O`; that is never applied
//!   to ASCII).
//! * Text in any other single script (a Russian, Greek or Arabic sentence, Chinese, emoji with
//!   their zero-width-joiner sequences) is already NFC in practice and has no mixed-script
//!   words, so it too comes out unchanged. A Russian word stays Russian even though most of its
//!   letters have Latin look-alikes: only words that *mix* ASCII Latin letters with letters of
//!   another script are touched.
//! * Fullwidth punctuation and letters written next to Chinese, Japanese or Korean text
//!   (`你好，世界！`, `２０２４年`) are left alone: they are native to that typography.
//!
//! Known limitations are listed at each option; the main ones are that joiners used by
//! Persian and Indic orthography are removed (the letters survive), and that homoglyph words
//! written *entirely* in another script (`рау` in Cyrillic) cannot be told from genuine words.
//!
//! # Offsets
//!
//! The result remembers, for every output character, the byte range of the original text it came
//! from, composed through all three steps; [`Normalized::original_range`] maps a span of the
//! normalized text (a token, a highlighted window) back to the user's original text.
//!
//! ```
//! use wmark_detect::normalize::{normalize, Options};
//!
//! let original = "Т\u{200B}he pаypal";          // Cyrillic Т and а, a zero-width space
//! let n = normalize(original, &Options::default());
//! assert_eq!(n.text(), "The paypal");
//! assert!(n.changed());
//! assert_eq!(n.stats().invisible_removed, 1);
//! assert_eq!(n.stats().confusables_mapped, 2);
//! // "paypal" in the normalized text is "pаypal" in the original.
//! let r = n.original_range(4..10);
//! assert_eq!(&original[r], "pаypal");
//!
//! // ASCII is never touched.
//! let ascii = normalize("l0 I1 |O", &Options::default());
//! assert_eq!(ascii.text(), "l0 I1 |O");
//! assert!(!ascii.changed());
//! ```

use std::collections::HashMap;
use std::iter;
use std::ops::Range;
use std::sync::OnceLock;

use unicode_normalization::char::{canonical_combining_class, is_combining_mark};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
use unicode_security::{skeleton, MixedScript};

/// Which normalization steps [`normalize`] applies.
///
/// [`Options::default`] turns every step on; [`Options::none`] turns every step off (the text is
/// returned unchanged). The steps always run in the order strip invisible, NFC, confusables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Options {
    /// Apply Unicode NFC (canonical composition), e.g. `e` + U+0301 COMBINING ACUTE ACCENT
    /// becomes `é`.
    ///
    /// NFC is canonical: it never changes how text looks or what it means, only which code
    /// points spell it, so genuine text (which is NFC in practice) is not affected. The
    /// compatibility forms (NFKC: `ﬁ`, `²`, `Ⅻ`, math letters) are deliberately *not* applied,
    /// because they do change genuine text.
    ///
    /// The text is normalized in independent units so that offsets can be kept: a unit starts at
    /// every character that can neither combine with what precedes it nor be reordered before it
    /// (canonical combining class 0 and `NFC_Quick_Check = Yes`), which is the standard NFC
    /// segment boundary, so the result is exactly NFC of the whole text. A unit is typically a
    /// base letter with its combining marks, or a run of Hangul jamo. When NFC changes a unit,
    /// every output character of that unit maps to the whole unit in the original text
    /// ([`Normalized::original_range`] cannot be finer than that: `é` has no "half" that is `e`).
    pub nfc: bool,
    /// Remove invisible format characters that an attacker can insert without changing how the
    /// text reads:
    ///
    /// * U+200B ZERO WIDTH SPACE, U+200C ZERO WIDTH NON-JOINER, U+200D ZERO WIDTH JOINER (but
    ///   see below), U+200E LEFT-TO-RIGHT MARK, U+200F RIGHT-TO-LEFT MARK;
    /// * U+202A..U+202E, the bidi embeddings and overrides;
    /// * U+2060..U+206F: WORD JOINER, the invisible math operators, the bidi isolates
    ///   U+2066..U+2069, the deprecated format controls U+206A..U+206F, and the unassigned but
    ///   default-ignorable U+2065 (it renders as nothing, so it is as good a hiding place);
    /// * U+FEFF ZERO WIDTH NO-BREAK SPACE (byte-order mark), U+061C ARABIC LETTER MARK,
    ///   U+180E MONGOLIAN VOWEL SEPARATOR, U+00AD SOFT HYPHEN, U+034F COMBINING GRAPHEME JOINER.
    ///
    /// U+200D ZERO WIDTH JOINER is **kept** when it glues two emoji into one (👩‍💻, 👨‍👩‍👧,
    /// ❤️‍🔥): when the character before it (looking past a U+FE0E/U+FE0F variation selector)
    /// and the character after it are both emoji-like. "Emoji-like" is approximated by code
    /// point ranges of `Extended_Pictographic` (U+1F000..U+1FAFF, U+2600..U+27BF, plus the
    /// arrows U+2190..U+21FF, U+2300..U+23FF and U+2B00..U+2BFF used by sequences such as
    /// 🙂‍↔️ and 🐈‍⬛), excluding alphanumeric characters (e.g. 🄂) and characters that NFC
    /// rewrites, so that the decision cannot change when the text is normalized again. The
    /// neighbours are those of the original text, so a joiner next to another removed invisible
    /// is removed.
    ///
    /// Not removed: variation selectors (U+FE00..U+FE0F, U+E0100..U+E01EF) and tag characters
    /// (U+E0020..U+E007F), which carry presentation in emoji (`1️⃣`, ❤️, subdivision flags) and
    /// CJK variation sequences, and Hangul fillers. An attacker can still hide these inside a
    /// word. Also a known limitation: U+200C/U+200D are part of Persian and Indic orthography
    /// (`می‌خواهم`); removing them changes how such text is shaped, though not its letters.
    pub strip_invisible: bool,
    /// Map homoglyphs to ASCII inside mixed-script words, and fullwidth ASCII forms to ASCII.
    ///
    /// **Words** are maximal runs of characters that are alphanumeric or combining marks. Text in
    /// scripts written without spaces (Han, kana, Hangul, Bopomofo and their punctuation, Thai,
    /// Lao, Khmer, Myanmar) is cut off from its neighbours, so `Windowsノート` is the two words
    /// `Windows` and `ノート`; characters of these scripts are never mapped.
    ///
    /// A word is **mixed-script** when it contains at least one ASCII letter and is not
    /// single-script in the sense of UTS #39 ([`MixedScript::is_single_script`]; Common and
    /// Inherited characters such as digits and combining marks go with any script). In a
    /// mixed-script word, every non-ASCII character whose UTS #39 confusable skeleton
    /// ([`unicode_security::skeleton`]) is a non-empty pure-ASCII string is replaced by ASCII.
    /// Words in a single script are left alone, and ASCII characters are never changed.
    ///
    /// The replacement is not the skeleton itself but the ASCII text the skeleton stands for: a
    /// skeleton is the representative of a class of look-alikes, and for ASCII that
    /// representative is not always the letter a reader sees (the skeleton of `I`, `1`, `|` and
    /// of Cyrillic `І` is `l`; of `0` and `O` is `O`; of `m` is `rn`). Each skeleton character
    /// is therefore replaced by an ASCII character with that same skeleton, chosen to match
    /// the homoglyph: an uppercase letter for an uppercase homoglyph (`Іnternet` → `Internet`,
    /// not `lnternet`), a lowercase one for a lowercase homoglyph, a digit for a digit, the
    /// skeleton character itself for an uncased letter (Arabic `ا` → `l`); a
    /// multi-character skeleton that is the skeleton of a single ASCII character is replaced by
    /// that character (`rn` → `m`). The result always has the same skeleton as the homoglyph.
    ///
    /// **Fullwidth forms** U+FF01..U+FF5E are mapped to ASCII (`ｈｅｌｌｏ` → `hello`; this is
    /// what NFKC does, for this block only), except next to CJK text, where they are genuine
    /// typography (`你好，世界！`, `２０２４年`, `ＮＨＫの`). Precisely: a maximal run of fullwidth
    /// forms and whitespace is left alone when the character just before or just after the run
    /// belongs to a script written without spaces (see above), and is mapped otherwise.
    ///
    /// The step is repeated until nothing changes (mapping a fullwidth letter can make its word
    /// mixed-script), which makes [`normalize`] idempotent. If [`Options::nfc`] is on, a unit
    /// with a replaced character is NFC-normalized again (Cyrillic `а` + U+0301 becomes `á`);
    /// those changes are counted as confusables.
    ///
    /// Limitations: a homoglyph word without any ASCII letter (`раурао`, all Cyrillic) is
    /// indistinguishable from a genuine word and is left alone; Latin-script and Common look-
    /// alikes (`ɑ`, `ﬁ`, mathematical letters such as `𝐇`) are single-script with the ASCII
    /// letters around them and are not mapped; a genuine mixed word (`SMSка`, a Russian case
    /// ending glued to a Latin acronym) has its Cyrillic look-alikes mapped (`SMSкa`).
    pub confusables: bool,
}

impl Default for Options {
    /// Every step on.
    fn default() -> Self {
        Self { nfc: true, strip_invisible: true, confusables: true }
    }
}

impl Options {
    /// Every step off: [`normalize`] returns the text unchanged.
    pub const fn none() -> Self {
        Self { nfc: false, strip_invisible: false, confusables: false }
    }
}

/// How many edits each step made (see [`Normalized::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Changes {
    /// Invisible characters removed by the strip step (each removed character counts once).
    pub invisible_removed: usize,
    /// Characters replaced by the confusables step: homoglyphs and fullwidth forms (each
    /// replaced character counts once, even when it becomes several ASCII characters).
    pub confusables_mapped: usize,
    /// NFC units (a character with the combining marks or jamo that follow it) that NFC
    /// rewrote: `e` + U+0301 → `é` counts once.
    pub nfc_changed: usize,
}

/// The normalized text, with a map back to the original and counts of what was changed.
///
/// Returned by [`normalize`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    text: String,
    original_len: usize,
    /// One entry per character of `text`, in order; `None` when `text` is the original.
    spans: Option<Vec<Span>>,
    stats: Changes,
}

/// Where one output character came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    /// Byte offset of the character in the normalized text.
    out: usize,
    /// Byte range in the original text.
    start: usize,
    end: usize,
}

impl Normalized {
    /// The normalized text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the normalized text differs from the original.
    pub fn changed(&self) -> bool {
        self.spans.is_some()
    }

    /// The counts of edits made by each step.
    pub fn stats(&self) -> &Changes {
        &self.stats
    }

    /// The byte range of the original text that covers the byte range `normalized_bytes` of the
    /// normalized text, for highlighting a token or a window in the user's own text.
    ///
    /// The result always lies on character boundaries of the original, and never panics:
    ///
    /// * the input is clamped to the normalized text, a start inside a character is moved back
    ///   to its start and an end inside a character forward to its end, and an end before the
    ///   start is treated as equal to the start;
    /// * the whole normalized text maps to the whole original (including invisibles removed
    ///   at either end; in particular, if everything was removed, `0..0` maps to the whole
    ///   original);
    /// * otherwise a non-empty range maps from the start of the original of its first character
    ///   to the end of the original of its last character. Invisibles removed *between* those
    ///   characters are included; those removed before the first character are included only at
    ///   the very start of the text, and those after the last only at the very end. A character
    ///   produced by NFC maps to its whole NFC unit (`é` ← `e\u{301}`), a character produced by
    ///   a homoglyph to that homoglyph;
    /// * an empty range maps to the empty range at the start of the original of the character
    ///   at that position (the end of the original at the end of the text).
    ///
    /// The map is monotone on non-empty ranges: for ranges `a` and `b` with
    /// `a.start <= b.start` and `a.end <= b.end`, the mapped ranges are ordered the same way.
    /// (An empty range between two characters of one NFC unit has no exact position in the
    /// original; it maps to the start of the unit.)
    pub fn original_range(&self, normalized_bytes: Range<usize>) -> Range<usize> {
        let len = self.text.len();
        let start = floor_boundary(&self.text, normalized_bytes.start.min(len));
        let end = ceil_boundary(&self.text, normalized_bytes.end.clamp(start, len));
        if start == 0 && end == len {
            return 0..self.original_len;
        }
        if start == end {
            let at = self.map_start(start);
            return at..at;
        }
        self.map_start(start)..self.map_end(end)
    }

    /// Original offset for a normalized start position (a character boundary, not 0 or len
    /// unless the text is empty).
    fn map_start(&self, at: usize) -> usize {
        if at == 0 {
            return 0;
        }
        if at >= self.text.len() {
            return self.original_len;
        }
        match &self.spans {
            None => at,
            Some(spans) => {
                let i = spans.partition_point(|s| s.out < at);
                spans[i].start
            }
        }
    }

    /// Original offset for a normalized end position (a character boundary).
    fn map_end(&self, at: usize) -> usize {
        if at == 0 {
            return 0;
        }
        if at >= self.text.len() {
            return self.original_len;
        }
        match &self.spans {
            None => at,
            Some(spans) => {
                // The character that ends at `at` is the last one starting before it.
                let i = spans.partition_point(|s| s.out < at);
                spans[i - 1].end
            }
        }
    }
}

fn floor_boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// Normalize `text` with the steps chosen in `options` (see the [module documentation](self)).
///
/// ASCII text, and text that no enabled step changes, is returned as is, with
/// [`Normalized::changed`] false and an identity offset map.
pub fn normalize(text: &str, options: &Options) -> Normalized {
    let unchanged = |stats| Normalized { text: text.to_owned(), original_len: text.len(), spans: None, stats };
    // No step ever changes an ASCII character.
    if text.is_ascii() {
        return unchanged(Changes::default());
    }
    let mut stats = Changes::default();
    let mut pieces = if options.strip_invisible {
        strip_invisible(text, &mut stats)
    } else {
        text.char_indices().map(|(i, c)| Piece::new(c, i..i + c.len_utf8())).collect()
    };
    if options.nfc {
        pieces = nfc(&pieces, &mut stats);
    }
    if options.confusables {
        // Each pass that changes anything replaces at least one non-ASCII character by ASCII
        // and never adds one, so this ends; the bound is only a guard.
        for _ in 0..=pieces.len() {
            match map_confusables(&pieces, options.nfc, &mut stats) {
                Some(next) => pieces = next,
                None => break,
            }
        }
    }

    let mut out = String::with_capacity(text.len());
    let mut spans = Vec::with_capacity(pieces.len());
    for p in &pieces {
        spans.push(Span { out: out.len(), start: p.start, end: p.end });
        out.push(p.ch);
    }
    if out == text {
        return unchanged(stats);
    }
    Normalized { text: out, original_len: text.len(), spans: Some(spans), stats }
}

/// One character of the text being normalized, with the original byte range it came from.
#[derive(Clone, Copy, Debug)]
struct Piece {
    ch: char,
    start: usize,
    end: usize,
}

impl Piece {
    fn new(ch: char, range: Range<usize>) -> Self {
        Self { ch, start: range.start, end: range.end }
    }
}

const ZWJ: char = '\u{200D}';

/// The characters that [`Options::strip_invisible`] always removes (U+200D is handled apart).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{00AD}'
            | '\u{034F}'
    )
}

/// Approximation of `Extended_Pictographic`, restricted to characters that no step changes.
fn is_emoji_like(c: char) -> bool {
    matches!(
        c,
        '\u{1F000}'..='\u{1FAFF}'
            | '\u{2600}'..='\u{27BF}'
            | '\u{2190}'..='\u{21FF}'
            | '\u{2300}'..='\u{23FF}'
            | '\u{2B00}'..='\u{2BFF}'
    ) && !c.is_alphanumeric()
        && is_nfc_quick(iter::once(c)) == IsNormalized::Yes
}

fn strip_invisible(text: &str, stats: &mut Changes) -> Vec<Piece> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut pieces = Vec::with_capacity(chars.len());
    for (i, &(at, c)) in chars.iter().enumerate() {
        let remove = if c == ZWJ {
            let before = chars[..i].iter().rev().map(|&(_, c)| c).find(|&c| !matches!(c, '\u{FE0E}' | '\u{FE0F}'));
            let after = chars.get(i + 1).map(|&(_, c)| c);
            !(before.is_some_and(is_emoji_like) && after.is_some_and(is_emoji_like))
        } else {
            is_invisible(c)
        };
        if remove {
            stats.invisible_removed += 1;
        } else {
            pieces.push(Piece::new(c, at..at + c.len_utf8()));
        }
    }
    pieces
}

/// Whether an NFC segment starts at `c`: nothing before `c` can compose with it or be reordered
/// after it.
fn starts_nfc_unit(c: char) -> bool {
    c.is_ascii() || (canonical_combining_class(c) == 0 && is_nfc_quick(iter::once(c)) == IsNormalized::Yes)
}

/// Split `pieces` into NFC units (index ranges).
fn nfc_units(pieces: &[Piece]) -> Vec<Range<usize>> {
    let mut units = Vec::new();
    let mut start = 0;
    for (i, p) in pieces.iter().enumerate().skip(1) {
        if starts_nfc_unit(p.ch) {
            units.push(start..i);
            start = i;
        }
    }
    if !pieces.is_empty() {
        units.push(start..pieces.len());
    }
    units
}

/// NFC of `chars`, or `None` when they are already NFC.
fn nfc_of(chars: &[char]) -> Option<Vec<char>> {
    if is_nfc_quick(chars.iter().copied()) == IsNormalized::Yes {
        return None;
    }
    let composed: Vec<char> = chars.iter().copied().nfc().collect();
    (composed != chars).then_some(composed)
}

/// Push `chars`, all mapped to the union of the original ranges of `unit`.
fn push_unit(out: &mut Vec<Piece>, unit: &[Piece], chars: &[char]) {
    let (start, end) = (unit[0].start, unit[unit.len() - 1].end);
    out.extend(chars.iter().map(|&ch| Piece { ch, start, end }));
}

fn nfc(pieces: &[Piece], stats: &mut Changes) -> Vec<Piece> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut chars = Vec::new();
    for range in nfc_units(pieces) {
        let unit = &pieces[range];
        chars.clear();
        chars.extend(unit.iter().map(|p| p.ch));
        match nfc_of(&chars) {
            None => out.extend_from_slice(unit),
            Some(composed) => {
                stats.nfc_changed += 1;
                push_unit(&mut out, unit, &composed);
            }
        }
    }
    out
}

/// Characters of scripts written without spaces between words, and their punctuation: Han,
/// kana, Hangul, Bopomofo, CJK symbols and the non-ASCII halfwidth/fullwidth forms, Thai, Lao,
/// Khmer, Myanmar.
fn is_spaceless_script(c: char) -> bool {
    matches!(
        c,
        '\u{0E00}'..='\u{0EFF}'         // Thai, Lao
            | '\u{1000}'..='\u{109F}'   // Myanmar
            | '\u{1100}'..='\u{11FF}'   // Hangul Jamo
            | '\u{1780}'..='\u{17FF}'   // Khmer
            | '\u{19E0}'..='\u{19FF}'   // Khmer Symbols
            | '\u{2E80}'..='\u{2FDF}'   // CJK Radicals, Kangxi Radicals
            | '\u{2FF0}'..='\u{4DBF}'   // description chars, CJK punctuation, kana, Bopomofo,
                                        // Hangul compatibility jamo, enclosed CJK, CJK compat,
                                        // Extension A
            | '\u{4E00}'..='\u{9FFF}'   // CJK Unified Ideographs
            | '\u{A960}'..='\u{A97F}'   // Hangul Jamo Extended-A
            | '\u{A9E0}'..='\u{A9FF}'   // Myanmar Extended-B
            | '\u{AA60}'..='\u{AA7F}'   // Myanmar Extended-A
            | '\u{AC00}'..='\u{D7FF}'   // Hangul Syllables, Jamo Extended-B
            | '\u{F900}'..='\u{FAFF}'   // CJK Compatibility Ideographs
            | '\u{FE30}'..='\u{FE4F}'   // CJK Compatibility Forms
            | '\u{FF5F}'..='\u{FFEF}'   // halfwidth kana and Hangul, fullwidth brackets/signs
            | '\u{16FE0}'..='\u{16FFF}' // Ideographic Symbols
            | '\u{1AFF0}'..='\u{1B16F}' // kana extensions and supplement
            | '\u{20000}'..='\u{3FFFF}' // CJK Extensions B and later
    )
}

fn is_fullwidth_ascii(c: char) -> bool {
    matches!(c, '\u{FF01}'..='\u{FF5E}')
}

fn fullwidth_to_ascii(c: char) -> char {
    char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
}

/// The ASCII characters grouped by their confusable skeleton.
fn ascii_by_skeleton() -> &'static HashMap<String, Vec<char>> {
    static TABLE: OnceLock<HashMap<String, Vec<char>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: HashMap<String, Vec<char>> = HashMap::new();
        for c in (0x20u8..0x7F).map(char::from) {
            table.entry(skeleton(c.encode_utf8(&mut [0; 4])).collect()).or_default().push(c);
        }
        table
    })
}

/// Among ASCII candidates with the same skeleton, the one that best matches the kind of `like`.
fn pick(candidates: &[char], like: char, skeleton_char: Option<char>) -> Option<char> {
    let prototype = skeleton_char.filter(|c| candidates.contains(c));
    let kind: Option<fn(&char) -> bool> = if like.is_uppercase() {
        Some(char::is_ascii_uppercase)
    } else if like.is_lowercase() {
        Some(char::is_ascii_lowercase)
    } else if like.is_numeric() {
        Some(char::is_ascii_digit)
    } else if like.is_alphabetic() {
        // An uncased letter (Arabic alef, Armenian, ...): the prototype itself.
        None
    } else {
        Some(char::is_ascii_punctuation)
    };
    kind.and_then(|kind| candidates.iter().copied().find(kind)).or(prototype).or_else(|| candidates.first().copied())
}

/// The ASCII text that the non-ASCII character `c` imitates, if its skeleton is pure ASCII.
fn ascii_prototype(c: char) -> Option<String> {
    if is_fullwidth_ascii(c) {
        return Some(fullwidth_to_ascii(c).to_string());
    }
    let skel: String = skeleton(c.encode_utf8(&mut [0; 4])).collect();
    if skel.is_empty() || !skel.is_ascii() {
        return None;
    }
    let table = ascii_by_skeleton();
    let mut chars = skel.chars();
    if let (Some(only), None) = (chars.next(), chars.next()) {
        let picked = table.get(&skel).and_then(|cands| pick(cands, c, Some(only)));
        return Some(picked.unwrap_or(only).to_string());
    }
    // A multi-character skeleton: the skeleton of one ASCII character (`rn` is `m`), or else
    // each of its characters in turn.
    if let Some(one) = table.get(&skel).and_then(|cands| pick(cands, c, None)) {
        return Some(one.to_string());
    }
    Some(
        skel.chars()
            .map(|s| {
                table.get(s.encode_utf8(&mut [0; 4]) as &str).and_then(|cands| pick(cands, c, Some(s))).unwrap_or(s)
            })
            .collect(),
    )
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// One pass of the confusables step. Returns `None` if it changes nothing.
fn map_confusables(pieces: &[Piece], renormalize: bool, stats: &mut Changes) -> Option<Vec<Piece>> {
    let n = pieces.len();
    let chars: Vec<char> = pieces.iter().map(|p| p.ch).collect();
    let mut replacement: Vec<Option<String>> = vec![None; n];
    let mut any = false;

    // Fullwidth forms, in maximal runs of fullwidth forms and whitespace.
    let mut i = 0;
    while i < n {
        if !(is_fullwidth_ascii(chars[i]) || chars[i].is_whitespace()) {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && (is_fullwidth_ascii(chars[i]) || chars[i].is_whitespace()) {
            i += 1;
        }
        let before = start.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i).copied();
        if before.is_some_and(is_spaceless_script) || after.is_some_and(is_spaceless_script) {
            continue;
        }
        for j in start..i {
            if is_fullwidth_ascii(chars[j]) {
                replacement[j] = Some(fullwidth_to_ascii(chars[j]).to_string());
                any = true;
            }
        }
    }

    // Homoglyphs in mixed-script words.
    let mut word = String::new();
    let mut i = 0;
    while i < n {
        if !is_word_char(chars[i]) {
            i += 1;
            continue;
        }
        // A word: word characters, cut where a spaceless-script letter meets another letter
        // (combining marks stay with what precedes them).
        let start = i;
        let mut spaceless = None;
        while i < n && is_word_char(chars[i]) {
            if !is_combining_mark(chars[i]) {
                let this = is_spaceless_script(chars[i]);
                if *spaceless.get_or_insert(this) != this {
                    break;
                }
            }
            i += 1;
        }
        let w = &chars[start..i];
        if spaceless == Some(true) || w.iter().all(char::is_ascii) || !w.iter().any(char::is_ascii_alphabetic) {
            continue;
        }
        word.clear();
        word.extend(w);
        if word.as_str().is_single_script() {
            continue;
        }
        for j in start..i {
            if chars[j].is_ascii() || replacement[j].is_some() || is_spaceless_script(chars[j]) {
                continue;
            }
            if let Some(ascii) = ascii_prototype(chars[j]) {
                replacement[j] = Some(ascii);
                any = true;
            }
        }
    }

    if !any {
        return None;
    }
    stats.confusables_mapped += replacement.iter().filter(|r| r.is_some()).count();

    let mut out = Vec::with_capacity(n);
    let mut unit_out = Vec::new();
    // Without NFC, every character is a unit of its own.
    let units = if renormalize { nfc_units(pieces) } else { (0..n).map(|i| i..i + 1).collect() };
    for range in units {
        let unit = &pieces[range.clone()];
        let reps = &replacement[range];
        if reps.iter().all(Option::is_none) {
            out.extend_from_slice(unit);
            continue;
        }
        unit_out.clear();
        for (p, rep) in unit.iter().zip(reps) {
            match rep {
                None => unit_out.push(*p),
                Some(s) => unit_out.extend(s.chars().map(|ch| Piece { ch, ..*p })),
            }
        }
        let chars: Vec<char> = unit_out.iter().map(|p| p.ch).collect();
        match renormalize.then(|| nfc_of(&chars)).flatten() {
            None => out.extend_from_slice(&unit_out),
            Some(composed) => push_unit(&mut out, unit, &composed),
        }
    }
    Some(out)
}
