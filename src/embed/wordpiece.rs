//! A fast path for BERT WordPiece tokenisation.
//!
//! Static encoding is tokeniser-bound: Hugging Face `tokenizers` spends about
//! 90 % of the time in its generic normaliser / pre-tokeniser / model
//! pipeline. For the common case — a BERT tokenizer (`BertNormalizer`,
//! `BertPreTokenizer`, `WordPiece`) and a text that contains no added token
//! such as `[CLS]` — this module produces **the same ids** in one streaming
//! pass, with no allocation per token or per text (the NFD iterator's small
//! buffer spills to the heap only for a character followed by several
//! combining marks). Pure ASCII text takes a byte loop; any other text a
//! `char` pipeline running the normaliser's steps as iterator adapters. For
//! anything else `tokenize` returns `false` and the caller uses the full
//! tokenizer. `tests/wordpiece.rs` checks id-for-id equality with
//! `tokenizers` on real (multilingual) and adversarial text.
//!
//! The rules, taken from `tokenizers` 0.23 (`normalizers/bert.rs`,
//! `pre_tokenizers/bert.rs`, `models/wordpiece/mod.rs`), in their order:
//! * `clean_text`: delete `\0`, U+FFFD and "control" characters (Cc, Cf, Co
//!   by `unicode_categories`' `is_other`, so unassigned code points stay)
//!   except `\t \n \r`; then every whitespace character becomes `' '`
//!   (deletion comes first, so U+0085, a Cc, is deleted, not a space);
//! * `handle_chinese_chars` (when set): CJK ideographs get a space either side;
//! * `strip_accents` (when set; `null` means "as `lowercase`"): NFD of the
//!   whole text (`unicode-normalization-alignments`, whose canonical
//!   reordering moves marks across characters), then drop non-spacing marks
//!   (Mn);
//! * `lowercase` (when set): `char::to_lowercase`, which may give several
//!   characters (`İ` without accent stripping is `i` + U+0307);
//! * pre-tokeniser, on the normalised characters: split on
//!   `char::is_whitespace`; every ASCII or Unicode punctuation character is a
//!   word of its own (NFD can turn a non-punctuation character into one:
//!   U+1FEF GREEK VARIA is `` ` ``);
//! * WordPiece: words longer than `max_input_chars_per_word` *characters*
//!   become `[UNK]`; otherwise greedy longest-match-first, continuation pieces
//!   prefixed with `continuing_subword_prefix`; a word with an unmatchable
//!   rest is `[UNK]`.
//!
//! The character classes come from the same crates and versions `tokenizers`
//! uses (`unicode_categories` 0.1.1, `unicode-normalization-alignments`
//! 0.1.12) and from `std` (`is_whitespace`, `to_lowercase`), so the Unicode
//! tables agree; per-character results are cached in a lazily filled table.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use serde_json::Value;
use unicode_categories::UnicodeCategories;
use unicode_normalization_alignments::UnicodeNormalization;

/// FxHash: a fast, non-cryptographic hash for short vocabulary keys.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Bytes of one ASCII word kept (characters of one word for the Unicode
/// path); longer words are `[UNK]` by `max_input_chars_per_word`.
const WORD_BUFFER: usize = 128;

type FxMap = HashMap<Box<[u8]>, u32, BuildHasherDefault<FxHasher>>;

/// The fast path for one BERT WordPiece tokenizer.
pub(crate) struct FastWordPiece {
    /// Word-initial pieces.
    initial: FxMap,
    /// Continuation pieces, keyed without their `##` prefix.
    continuation: FxMap,
    unk_id: u32,
    max_word_chars: usize,
    longest_piece: usize,
    lowercase: bool,
    /// NFD + removal of non-spacing marks (`strip_accents`, `null` = `lowercase`).
    strip_accents: bool,
    /// Spaces around CJK ideographs (`handle_chinese_chars`).
    chinese: bool,
    /// Added tokens (`[CLS]`, …) that `tokenizers` matches in raw text.
    added: Vec<Vec<u8>>,
    added_first: [bool; 256],
}

impl FastWordPiece {
    /// Builds the fast path from a parsed `tokenizer.json`, or `None` when
    /// the tokenizer is not a plain BERT WordPiece pipeline.
    pub(crate) fn from_json(json: &Value) -> Option<Self> {
        let normalizer = json.get("normalizer")?;
        let model = json.get("model")?;
        let plain_bert = normalizer.get("type")?.as_str()? == "BertNormalizer"
            && normalizer.get("clean_text")?.as_bool()?
            && json.get("pre_tokenizer")?.get("type")?.as_str()? == "BertPreTokenizer"
            && model.get("type")?.as_str()? == "WordPiece";
        if !plain_bert {
            return None;
        }
        let lowercase = normalizer.get("lowercase")?.as_bool()?;
        let chinese = normalizer.get("handle_chinese_chars")?.as_bool()?;
        let strip_accents = match normalizer.get("strip_accents") {
            None | Some(Value::Null) => lowercase,
            Some(v) => v.as_bool()?,
        };
        let prefix = model.get("continuing_subword_prefix")?.as_str()?;
        // Added tokens are matched here on raw bytes, which is right only for
        // `normalized: false` ones (all of BERT's). Continuation pieces are
        // looked up without their prefix, and word-initial lookups never see
        // prefixed vocabulary entries; that is exact only when no word can
        // start with the prefix, i.e. when the prefix has two or more
        // characters, one of them punctuation or whitespace (words hold
        // neither, or are a single punctuation character), as `##` does.
        // Leave other tokenizers to `tokenizers`.
        let added_tokens = json.get("added_tokens").and_then(Value::as_array);
        let normalized_added = added_tokens
            .into_iter()
            .flatten()
            .any(|t| t.get("normalized").and_then(Value::as_bool) == Some(true));
        let prefix_separates = prefix.chars().nth(1).is_some()
            && prefix
                .chars()
                .any(|c| char_class(c) & (PUNCTUATION | WHITESPACE) != 0);
        if !prefix_separates || normalized_added {
            return None;
        }
        let unk = model.get("unk_token")?.as_str()?;
        let vocab = model.get("vocab")?.as_object()?;
        let unk_id = vocab.get(unk)?.as_u64()? as u32;
        let mut initial = FxMap::default();
        let mut continuation = FxMap::default();
        let mut longest_piece = 1;
        for (token, id) in vocab {
            let id = id.as_u64()? as u32;
            let (map, key) = match token.strip_prefix(prefix) {
                Some(rest) => (&mut continuation, rest),
                None => (&mut initial, token.as_str()),
            };
            longest_piece = longest_piece.max(key.len());
            map.insert(key.as_bytes().into(), id);
        }
        let added: Vec<Vec<u8>> = added_tokens
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("content")?.as_str())
            .filter(|c| !c.is_empty())
            .map(|c| c.as_bytes().to_vec())
            .collect();
        let max_word_chars = model
            .get("max_input_chars_per_word")
            .and_then(Value::as_u64)
            .unwrap_or(100) as usize;
        if max_word_chars >= WORD_BUFFER {
            return None;
        }
        let mut added_first = [false; 256];
        added.iter().for_each(|a| added_first[a[0] as usize] = true);
        Some(Self {
            initial,
            continuation,
            unk_id,
            max_word_chars,
            longest_piece,
            lowercase,
            strip_accents,
            chinese,
            added,
            added_first,
        })
    }

    /// Appends the ids of `text` to `out` and returns `true`, or returns
    /// `false` (leaving `out` untouched) when the text needs the full
    /// tokenizer because it contains an added token. ASCII text takes a byte
    /// loop, other text the Unicode pipeline; both give `tokenizers`' ids.
    pub(crate) fn tokenize(&self, text: &str, out: &mut Vec<u32>) -> bool {
        let bytes = text.as_bytes();
        if self.has_added_token(bytes) {
            return false;
        }
        if bytes.is_ascii() {
            self.tokenize_ascii(bytes, out);
        } else {
            self.tokenize_unicode(text, out);
        }
        true
    }

    /// ASCII text: accent stripping, CJK padding and Unicode classes are the
    /// identity or empty here, so the pipeline is a single byte loop.
    fn tokenize_ascii(&self, bytes: &[u8], out: &mut Vec<u32>) {
        let mut word = [0u8; WORD_BUFFER];
        let mut len = 0usize;
        let mut overflow = false;
        for &b in bytes {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => {
                    self.flush(&word[..len], overflow, out);
                    (len, overflow) = (0, false);
                }
                0..=0x1f | 0x7f => {} // clean_text deletes control characters
                _ if b.is_ascii_punctuation() => {
                    self.flush(&word[..len], overflow, out);
                    (len, overflow) = (0, false);
                    self.word_pieces(&[b], out);
                }
                _ => {
                    if len < word.len() {
                        word[len] = if self.lowercase {
                            b.to_ascii_lowercase()
                        } else {
                            b
                        };
                        len += 1;
                    } else {
                        overflow = true;
                    }
                }
            }
        }
        self.flush(&word[..len], overflow, out);
    }

    /// Any text: the normaliser's steps as iterator adapters over the whole
    /// text (NFD must see it whole: it reorders marks across characters),
    /// feeding the pre-tokeniser and WordPiece one character at a time.
    fn tokenize_unicode(&self, text: &str, out: &mut Vec<u32>) {
        let mut word = Word::default();
        // clean_text: delete first, then map whitespace to ' '.
        let cleaned = text.chars().filter_map(|c| {
            let class = char_class(c);
            if class & DELETE != 0 {
                None
            } else if class & WHITESPACE != 0 {
                Some(' ')
            } else {
                Some(c)
            }
        });
        let padded = PadChinese {
            inner: cleaned,
            on: self.chinese,
            pending: None,
            pending_space: false,
        };
        if self.strip_accents {
            for (c, _) in padded.nfd() {
                if char_class(c) & NONSPACING_MARK == 0 {
                    self.lowercase_then_split(c, &mut word, out);
                }
            }
        } else {
            for c in padded {
                self.lowercase_then_split(c, &mut word, out);
            }
        }
        self.flush_word(&mut word, out);
    }

    #[inline]
    fn lowercase_then_split(&self, c: char, word: &mut Word, out: &mut Vec<u32>) {
        if !self.lowercase {
            self.split(c, word, out);
        } else if c.is_ascii() {
            self.split(c.to_ascii_lowercase(), word, out);
        } else if char_class(c) & CHANGES_IN_LOWERCASE == 0 {
            self.split(c, word, out);
        } else {
            for l in c.to_lowercase() {
                self.split(l, word, out);
            }
        }
    }

    /// The pre-tokeniser on one normalised character.
    #[inline]
    fn split(&self, c: char, word: &mut Word, out: &mut Vec<u32>) {
        let class = char_class(c);
        if class & WHITESPACE != 0 {
            self.flush_word(word, out);
        } else if class & PUNCTUATION != 0 {
            self.flush_word(word, out);
            self.word_pieces(c.encode_utf8(&mut [0; 4]).as_bytes(), out);
        } else {
            word.push(c, self.max_word_chars);
        }
    }

    fn flush_word(&self, word: &mut Word, out: &mut Vec<u32>) {
        if word.chars > self.max_word_chars {
            out.push(self.unk_id);
        } else if word.chars > 0 {
            self.word_pieces(&word.bytes[..word.len], out);
        }
        word.len = 0;
        word.chars = 0;
    }

    fn has_added_token(&self, bytes: &[u8]) -> bool {
        bytes.iter().any(|&b| self.added_first[b as usize])
            && self
                .added
                .iter()
                .any(|a| bytes.windows(a.len()).any(|w| w == a.as_slice()))
    }

    fn flush(&self, word: &[u8], overflow: bool, out: &mut Vec<u32>) {
        if overflow || word.len() > self.max_word_chars {
            out.push(self.unk_id);
        } else if !word.is_empty() {
            self.word_pieces(word, out);
        }
    }

    /// Greedy longest-match-first WordPiece of one word (UTF-8 bytes).
    ///
    /// `tokenizers` shortens a candidate one *character* at a time; this
    /// works on bytes and gives the same pieces: `start` is always a
    /// character boundary (0, or the end of a matched key, and every key is
    /// valid UTF-8), so a candidate `word[start..end]` with `end` inside a
    /// character is not valid UTF-8 and cannot equal any key. Such ends are
    /// skipped without a lookup (a speed-up only), as are candidates longer
    /// than `longest_piece` bytes, which match no key either.
    fn word_pieces(&self, word: &[u8], out: &mut Vec<u32>) {
        let mark = out.len();
        let mut start = 0;
        while start < word.len() {
            let map = if start == 0 {
                &self.initial
            } else {
                &self.continuation
            };
            let mut end = word.len().min(start + self.longest_piece);
            let found = loop {
                if end == start {
                    break None;
                }
                // `word[end]` is a UTF-8 continuation byte (0x80–0xBF).
                if end < word.len() && (word[end] as i8) < -0x40 {
                    end -= 1;
                    continue;
                }
                if let Some(&id) = map.get(&word[start..end]) {
                    break Some(id);
                }
                end -= 1;
            };
            match found {
                Some(id) => {
                    out.push(id);
                    start = end;
                }
                None => {
                    out.truncate(mark);
                    out.push(self.unk_id);
                    return;
                }
            }
        }
    }
}

/// One word of the Unicode path: its first `max_input_chars_per_word`
/// characters (at most 4 bytes each) and its length in characters.
struct Word {
    bytes: [u8; 4 * WORD_BUFFER],
    len: usize,
    chars: usize,
}

impl Default for Word {
    fn default() -> Self {
        Self {
            bytes: [0; 4 * WORD_BUFFER],
            len: 0,
            chars: 0,
        }
    }
}

impl Word {
    #[inline]
    fn push(&mut self, c: char, max_chars: usize) {
        self.chars += 1;
        // Past the limit the word is `[UNK]` whatever follows: stop storing.
        if self.chars <= max_chars {
            self.len += c.encode_utf8(&mut self.bytes[self.len..]).len();
        }
    }
}

/// `handle_chinese_chars`: `c` becomes `' '`, `c`, `' '` for CJK ideographs.
struct PadChinese<I> {
    inner: I,
    on: bool,
    pending: Option<char>,
    pending_space: bool,
}

impl<I: Iterator<Item = char>> Iterator for PadChinese<I> {
    type Item = char;

    #[inline]
    fn next(&mut self) -> Option<char> {
        if let Some(c) = self.pending.take() {
            self.pending_space = true;
            return Some(c);
        }
        if self.pending_space {
            self.pending_space = false;
            return Some(' ');
        }
        let c = self.inner.next()?;
        if self.on && char_class(c) & CHINESE != 0 {
            self.pending = Some(c);
            Some(' ')
        } else {
            Some(c)
        }
    }
}

/// `clean_text` deletes it: `\0`, U+FFFD, or a control character.
const DELETE: u8 = 1;
/// `tokenizers`' `is_whitespace` (`\t \n \r` or `char::is_whitespace`; the
/// pre-tokeniser's `char::is_whitespace` is the same set).
const WHITESPACE: u8 = 2;
/// `is_chinese_char`.
const CHINESE: u8 = 4;
/// Mn, removed by `strip_accents`.
const NONSPACING_MARK: u8 = 8;
/// `is_bert_punc`: ASCII punctuation or Unicode P*.
const PUNCTUATION: u8 = 16;
/// `char::to_lowercase` is not `c` itself.
const CHANGES_IN_LOWERCASE: u8 = 32;

/// The classes of `c`, each computed exactly as `tokenizers` does.
fn classify(c: char) -> u8 {
    let mut class = 0;
    let is_control = !matches!(c, '\t' | '\n' | '\r') && c.is_other();
    if c == '\0' || c == '\u{fffd}' || is_control {
        class |= DELETE;
    }
    if matches!(c, '\t' | '\n' | '\r') || c.is_whitespace() {
        class |= WHITESPACE;
    }
    if matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    ) {
        class |= CHINESE;
    }
    if c.is_mark_nonspacing() {
        class |= NONSPACING_MARK;
    }
    if c.is_ascii_punctuation() || c.is_punctuation() {
        class |= PUNCTUATION;
    }
    let mut lower = c.to_lowercase();
    if !(lower.next() == Some(c) && lower.next().is_none()) {
        class |= CHANGES_IN_LOWERCASE;
    }
    class
}

/// Code points below this (planes 0–2: every script, emoji, CJK extension
/// ideographs) have their [`classify`] result cached.
const CACHED: u32 = 0x30000;

/// [`classify`], cached in blocks of 256 code points filled on first use (the
/// crates' lookups are binary searches, several per character).
#[inline]
fn char_class(c: char) -> u8 {
    static BLOCKS: [OnceLock<[u8; 256]>; (CACHED >> 8) as usize] =
        [const { OnceLock::new() }; (CACHED >> 8) as usize];
    let code = c as u32;
    if code >= CACHED {
        return classify(c);
    }
    let block = BLOCKS[(code >> 8) as usize].get_or_init(|| {
        let base = code & !0xFF;
        // Surrogates (D800–DFFF) are not `char`s and never looked up.
        std::array::from_fn(|i| char::from_u32(base + i as u32).map_or(0, classify))
    });
    block[(code & 0xFF) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLED: &[u8] = include_bytes!("../../models/minilm-l6-static-256/tokenizer.json");

    /// The bundled tokenizer.json with its normaliser flags replaced, and
    /// pieces of spacing marks (Mc) with combining classes 216, 224 and 226,
    /// which accent stripping keeps, so that the vocabulary sees NFD's
    /// reordering of marks.
    fn variant(lowercase: bool, strip_accents: Value, chinese: bool) -> Value {
        let mut json: Value = serde_json::from_slice(BUNDLED).unwrap();
        let normalizer = json.get_mut("normalizer").unwrap();
        normalizer["lowercase"] = Value::Bool(lowercase);
        normalizer["strip_accents"] = strip_accents;
        normalizer["handle_chinese_chars"] = Value::Bool(chinese);
        let vocab = json["model"]["vocab"].as_object_mut().unwrap();
        let marks = [
            "##\u{1d165}",
            "##\u{302e}",
            "##\u{1d16d}",
            "##\u{1d165}\u{302e}",
        ];
        for (i, mark) in marks.into_iter().enumerate() {
            vocab.insert(mark.to_string(), Value::from(40_000 + i));
        }
        json
    }

    const TEXTS: &[&str] = &[
        "Café déjà vu — naïve façade",
        "Straße İstanbul ǅemal ﬁne ΣΊΣΥΦΟΣ ὀδυσσεύς;",
        "a\u{301}\u{323} e\u{323}\u{301} o\u{31b}\u{301}\u{323}\u{308}",
        "\u{301}leading mark",
        "中文字符和日本語のテキスト、한국어 텍스트。",
        "Привет, мир! ¿Qué tal? ¡Hola! «quoted» „low“",
        "مَرْحَبًا بِالْعَالَمِ שָׁלוֹם עוֹלָם",
        "नमस्ते दुनिया สวัสดีชาวโลก",
        "ＦＵＬＬ－ｗｉｄｔｈ\u{3000}space\u{a0}nbsp\u{2028}ls",
        "zero\u{200b}width\u{feff}bom nel\u{85}joined",
        "\u{378}unassigned \u{e000}private € © ° ± 1–2 a—b",
        "👩\u{200d}👩\u{200d}👧 🎉 \u{1fef}varia \u{37e}",
        "中\u{301} 中\u{301}x",
        "\u{2f800}\u{301}\u{f900} \u{2b820}x \u{1f85}\u{345} q\u{345}\u{35c}\u{301}\u{316}",
        "한국어\u{1100}\u{1161} ｶﾞ ﬁ ǅ İ\u{307} ΐ \u{0}\u{fffd}\u{ad}",
        "x\u{1d16d}\u{302e}\u{1d165} y\u{302e}\u{1d165} \u{1d16d}\u{301}\u{302e}",
    ];

    /// `TEXTS`, and random concatenations of their characters and words.
    fn texts() -> Vec<String> {
        let mut pieces: Vec<String> = TEXTS
            .iter()
            .flat_map(|t| {
                t.split(' ')
                    .map(str::to_string)
                    .chain(t.chars().map(String::from))
            })
            .collect();
        pieces.push(" ".into());
        let mut out: Vec<String> = TEXTS.iter().map(|t| t.to_string()).collect();
        for n in [99, 100, 101] {
            for unit in ["é", "e\u{301}", "İ", "ж", "中", "ﬁ"] {
                out.push(unit.repeat(n));
            }
        }
        let mut seed: u64 = 7;
        for _ in 0..300 {
            let mut s = String::new();
            for _ in 0..1 + seed % 16 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s.push_str(&pieces[(seed >> 33) as usize % pieces.len()]);
            }
            out.push(s);
        }
        out
    }

    /// All normaliser flag combinations, raw ids (`[UNK]` included), and the
    /// fast path must be taken for every text.
    #[test]
    fn unicode_text_takes_the_fast_path_and_matches_tokenizers() {
        let texts = texts();
        let strip = [Value::Null, Value::Bool(false), Value::Bool(true)];
        for lowercase in [true, false] {
            for strip_accents in &strip {
                for chinese in [true, false] {
                    let json = variant(lowercase, strip_accents.clone(), chinese);
                    let fast = FastWordPiece::from_json(&json).unwrap();
                    let bytes = serde_json::to_vec(&json).unwrap();
                    let tokenizer = tokenizers::Tokenizer::from_bytes(&bytes).unwrap();
                    for text in &texts {
                        let mut ids = Vec::new();
                        assert!(fast.tokenize(text, &mut ids), "fast path for {text:?}");
                        let want = tokenizer.encode_fast(text.as_str(), false).unwrap();
                        assert_eq!(
                            ids,
                            want.get_ids(),
                            "{text:?} (lowercase {lowercase}, strip_accents \
                             {strip_accents}, chinese {chinese})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn added_tokens_still_fall_back() {
        let fast = FastWordPiece::from_json(&variant(true, Value::Null, true)).unwrap();
        let mut ids = Vec::new();
        assert!(!fast.tokenize("héllo [CLS] wörld", &mut ids));
        assert!(ids.is_empty());
    }

    #[test]
    fn classes_match_the_crates() {
        assert_eq!(char_class('\u{85}'), DELETE | WHITESPACE);
        assert_eq!(char_class('\u{200b}'), DELETE);
        assert_eq!(char_class('\u{3000}'), WHITESPACE);
        assert_eq!(char_class('\u{301}'), NONSPACING_MARK);
        assert_eq!(char_class('中'), CHINESE);
        assert_eq!(char_class('«'), PUNCTUATION);
        assert_eq!(char_class('€'), 0);
        assert_eq!(char_class('\u{378}'), 0);
        assert_eq!(char_class('İ'), CHANGES_IN_LOWERCASE);
        assert_eq!(char_class('\u{20000}'), CHINESE);
        assert_eq!(char_class('\u{2f800}'), CHINESE);
        assert_eq!(char_class('\u{e0001}'), DELETE);
        assert_eq!(char_class('\u{f0000}'), DELETE);
    }
}
