//! A fast path for BERT WordPiece tokenisation of ASCII text.
//!
//! Static encoding is tokeniser-bound: Hugging Face `tokenizers` spends about
//! 90 % of the time in its generic normaliser / pre-tokeniser / model
//! pipeline. For the common case — a BERT tokenizer (`BertNormalizer`,
//! `BertPreTokenizer`, `WordPiece`) and a text that is pure ASCII and contains
//! no added token such as `[CLS]` — this module produces **the same ids** with
//! one pass over the bytes and no allocation per token. For anything else
//! `tokenize` returns `false` and the caller uses the full tokenizer. `tests/wordpiece.rs` checks
//! id-for-id equality with `tokenizers` on real and adversarial text.
//!
//! The ASCII rules, taken from `tokenizers` 0.23:
//! * normaliser: control characters other than `\t \n \r` are deleted
//!   (`clean_text`), `\t \n \r` become spaces, `A-Z` are lowercased when
//!   `lowercase` is set (accent stripping is the identity on ASCII);
//! * pre-tokeniser: split on spaces; every ASCII punctuation character is a
//!   word of its own;
//! * WordPiece: words longer than `max_input_chars_per_word` become `[UNK]`;
//!   otherwise greedy longest-match-first, continuation pieces prefixed with
//!   `continuing_subword_prefix`; a word with an unmatchable rest is `[UNK]`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde_json::Value;

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

/// Bytes of one word kept; longer words are `[UNK]` by `max_input_chars_per_word`.
const WORD_BUFFER: usize = 128;

type FxMap = HashMap<Box<[u8]>, u32, BuildHasherDefault<FxHasher>>;

/// The ASCII fast path for one BERT WordPiece tokenizer.
pub(crate) struct FastWordPiece {
    /// Word-initial pieces.
    initial: FxMap,
    /// Continuation pieces, keyed without their `##` prefix.
    continuation: FxMap,
    unk_id: u32,
    max_word_chars: usize,
    longest_piece: usize,
    lowercase: bool,
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
        let prefix = model.get("continuing_subword_prefix")?.as_str()?;
        // Added tokens are matched here on raw bytes, which is right only for
        // `normalized: false` ones (all of BERT's); and an empty prefix would
        // need a different continuation lookup. Leave both to `tokenizers`.
        let added_tokens = json.get("added_tokens").and_then(Value::as_array);
        let normalized_added = added_tokens
            .into_iter()
            .flatten()
            .any(|t| t.get("normalized").and_then(Value::as_bool) == Some(true));
        if prefix.is_empty() || normalized_added {
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
            added,
            added_first,
        })
    }

    /// Appends the ids of `text` to `out` and returns `true`, or returns
    /// `false` (leaving `out` untouched) when the text needs the full
    /// tokenizer: non-ASCII, or containing an added token.
    pub(crate) fn tokenize(&self, text: &str, out: &mut Vec<u32>) -> bool {
        let bytes = text.as_bytes();
        if !bytes.is_ascii() || self.has_added_token(bytes) {
            return false;
        }
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
        true
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

    /// Greedy longest-match-first WordPiece of one ASCII word.
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
