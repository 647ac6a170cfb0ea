//! The WordPiece fast path gives exactly the ids of Hugging Face
//! `tokenizers`, on the parity fixture's real text, on generated adversarial
//! ASCII (punctuation runs, control characters, long words, added tokens,
//! mixed case) and on generated adversarial multilingual text (accents and
//! combining-mark orders, many scripts, CJK, Unicode spaces, controls and
//! punctuation, long non-ASCII words).

mod common;

use semsift::embed::{self, StaticModel};

fn both(model: &mut StaticModel, text: &str) -> (Vec<u32>, Vec<u32>) {
    model.set_fast_tokenizer(true);
    let fast = model.token_ids(text).unwrap();
    model.set_fast_tokenizer(false);
    let slow = model.token_ids(text).unwrap();
    (fast, slow)
}

fn generated() -> Vec<String> {
    let pieces = [
        "the",
        "The",
        "UNAFFABLE",
        "running",
        "co-operate",
        "e.g.",
        "$5.00",
        "100%",
        "a+b=c",
        "x^2",
        "{json:",
        "}",
        "can't",
        "`tick`",
        "~home",
        "|pipe|",
        "\t",
        "\n",
        "\r\n",
        "\x01",
        "\x0b",
        "\x7f",
        "  ",
        "...",
        "--",
        "[CLS]",
        "[SEP]",
        "[",
        "]",
        "[UNK",
        "zzqxj",
        "antidisestablishmentarianism",
        "12345678901234567890",
        "@user",
        "#tag",
        "http://example.com/a?b=c",
        "O'Neil's",
        "x",
        "",
        "[MASK]",
        "[pad]",
        "###",
        "##ing",
    ];
    let mut seed: u64 = 11;
    let mut out = Vec::new();
    for _ in 0..3000 {
        let n = 1 + (seed % 12) as usize;
        let mut s = String::new();
        for _ in 0..n {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            if (seed >> 20).is_multiple_of(3) {
                s.push(' ');
            }
        }
        out.push(s);
    }
    out.push("a".repeat(99));
    out.push("a".repeat(100));
    out.push("a".repeat(101));
    out.push("b".repeat(300));
    out.push(format!("{} tail", "word ".repeat(700)));
    out
}

/// Pieces for multilingual adversarial text: each exercises one step of
/// `BertNormalizer` / `BertPreTokenizer` / `WordPiece` outside ASCII.
const MULTILINGUAL: &[&str] = &[
    // Accented Latin, case mappings that expand or titlecase, ligatures.
    "é",
    "É",
    "café",
    "naïve",
    "ß",
    "Straße",
    "İ",
    "İstanbul",
    "ǅ",
    "ǅemal",
    "ǈ",
    "ﬁ",
    "ﬁnal",
    "ﬀ",
    "Ångström",
    "ŉ",
    "ǰ",
    // Combining marks in odd orders and of several combining classes
    // (U+031B horn 216, U+0323 dot below 220, U+0301/U+0308 230,
    // U+035C 233, U+0345 ypogegrammeni 240).
    "a\u{301}\u{323}",
    "e\u{323}\u{301}",
    "o\u{31b}\u{301}\u{323}\u{308}",
    "q\u{345}\u{35c}\u{301}\u{316}\u{31b}",
    "\u{301}",
    "\u{308}\u{301}",
    "\u{301}x",
    "ᾅ",
    "ǖ",
    "Ǖ",
    "ṩ",
    "\u{20dd}",
    // Spacing marks (Mc) with combining classes 226, 224, 216: NFD sorts them
    // and accent stripping keeps them.
    "x\u{1d16d}\u{302e}\u{1d165}",
    "a\u{20dd}",
    // Greek: final sigma, tonos, question mark and ano teleia (NFD turns them
    // into `;` and `·`), varia and dialytika-oxia (NFD gives ` and ¨).
    "ΣΊΣΥΦΟΣ",
    "ὀδυσσεύς",
    "λόγος",
    "\u{37e}",
    "\u{387}",
    "\u{1fef}",
    "\u{1fee}",
    "\u{1fed}",
    "ΐ",
    // Cyrillic.
    "Привет",
    "ЁЛКА",
    "й",
    "Ї",
    "мир",
    // Arabic with harakat (Mn), Arabic punctuation.
    "مَرْحَبًا",
    "بِسْمِ ٱللَّهِ",
    "،",
    "؟",
    "ـ",
    // Hebrew with niqqud, sof pasuq.
    "שָׁלוֹם",
    "בְּרֵאשִׁית",
    "\u{5c3}",
    // Devanagari (vowel signs Mc and Mn, virama), danda.
    "नमस्ते",
    "हिन्दी",
    "क्षि",
    "।",
    // Thai.
    "สวัสดี",
    "ภาษาไทย",
    // CJK ideographs, compatibility ideographs (NFD maps them), the extension
    // blocks and a gap between them (U+2B820 is not "Chinese").
    "中文",
    "日本語",
    "漢字テスト",
    "\u{f900}",
    "\u{2f800}",
    "\u{20000}",
    "\u{2a700}",
    "\u{2b820}",
    "\u{9fff}",
    "\u{3400}",
    "\u{2e80}",
    // Kana (half-width too, with its voiced mark), Hangul syllables (NFD
    // splits them into jamo) and jamo.
    "ひらがな",
    "カタカナ",
    "ｶﾞﾀｶﾅ",
    "ー",
    "한국어",
    "텍스트",
    "\u{1100}\u{1161}",
    // Full-width forms.
    "ＡＢＣ",
    "１２３",
    "！",
    "？",
    "（全角）",
    // Emoji, skin tone, ZWJ sequences, flags, variation selector (Mn).
    "😀",
    "👍🏽",
    "👩\u{200d}👩\u{200d}👧",
    "🇩🇪",
    "❤\u{fe0f}",
    // Unicode whitespace (becomes ' '), Cf / Cc characters (deleted: ZWSP,
    // BOM, NEL, soft hyphen, LRM, word joiner), unassigned, private use,
    // U+FFFD and NUL.
    "\u{a0}",
    "\u{3000}",
    "\u{2028}",
    "\u{2029}",
    "\u{2002}",
    "\u{202f}",
    "\u{1680}",
    "\u{200b}",
    "\u{feff}",
    "\u{85}",
    "\u{ad}",
    "\u{200e}",
    "\u{2060}",
    "\u{378}",
    "\u{e000}",
    "\u{f0000}",
    "\u{fffd}",
    "\u{0}",
    // Unicode punctuation.
    "«",
    "»",
    "„",
    "“",
    "”",
    "¿",
    "¡",
    "、",
    "。",
    "・",
    "‐",
    "–",
    "—",
    "…",
    "‹",
    "§",
    "¶",
    "·",
    "〈",
    // Symbols that are not punctuation.
    "€",
    "©",
    "°",
    "±",
    "™",
    "√",
    "£",
    "¨",
    "´",
    // ASCII around them.
    "the",
    "The",
    "running",
    "co-operate",
    "e.g.",
    "[CLS]",
    "x",
    " ",
    "  ",
    "\t",
    "\n",
    "",
];

/// Words around `max_input_chars_per_word` (100): counted in characters of
/// the normalised word (`e` + U+0301 is one after accent stripping, `İ` is
/// one with it, CJK ideographs are words of their own).
fn long_words() -> Vec<String> {
    let mut out = Vec::new();
    for n in [99, 100, 101] {
        for unit in ["é", "中", "e\u{301}", "İ", "ß", "ж", "ﬁ", "한", "aé"] {
            out.push(unit.repeat(n));
        }
    }
    out.push("é".repeat(300));
    out.push(format!("{} tail", "слово ".repeat(700)));
    out
}

fn multilingual() -> Vec<String> {
    let long = long_words();
    let mut seed: u64 = 29;
    let mut out = Vec::new();
    for _ in 0..4000 {
        let n = 1 + (seed % 12) as usize;
        let mut s = String::new();
        for _ in 0..n {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let pick = (seed >> 33) as usize;
            if pick.is_multiple_of(50) {
                s.push_str(&long[pick / 50 % long.len()]);
            } else {
                s.push_str(MULTILINGUAL[pick % MULTILINGUAL.len()]);
            }
            if (seed >> 20).is_multiple_of(3) {
                s.push(' ');
            }
        }
        out.push(s);
    }
    out.extend(long);
    out
}

#[test]
fn fast_path_matches_tokenizers_exactly() {
    let mut model = embed::bundled::default_model().unwrap();
    assert!(
        model.has_fast_tokenizer(),
        "the bundled BERT vocabulary takes the fast path"
    );
    let mut texts = common::jsonl_texts(&common::fixture("model2vec/texts.jsonl"));
    texts.extend(generated());
    texts.extend(multilingual());
    let (mut ascii, mut unicode) = (0, 0);
    for text in &texts {
        let (fast, slow) = both(&mut model, text);
        assert_eq!(fast, slow, "ids differ for {text:?}");
        ascii += text.is_ascii() as usize;
        unicode += !text.is_ascii() as usize;
    }
    assert!(ascii > 3000, "{ascii} ASCII cases");
    assert!(unicode > 3500, "{unicode} non-ASCII cases");
}

#[test]
fn fast_path_matches_on_the_transformer_vocabulary() {
    // MiniLM's own tokenizer.json (30,522 tokens with [unused*]) as a static model.
    let dir = tempfile::tempdir().unwrap();
    let minilm = common::minilm_dir();
    std::fs::copy(
        minilm.join("tokenizer.json"),
        dir.path().join("tokenizer.json"),
    )
    .unwrap();
    let table = vec![0u8; 30522 * 2 * 2];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![30522, 2], &table)
            .unwrap();
    std::fs::write(
        dir.path().join("model.safetensors"),
        safetensors::serialize([("embeddings", view)], None).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"model_type": "model2vec"}"#,
    )
    .unwrap();
    let mut model = StaticModel::from_dir(dir.path()).unwrap();
    assert!(model.has_fast_tokenizer());
    let texts = generated().into_iter().take(500).chain(multilingual());
    for text in texts {
        let (fast, slow) = both(&mut model, &text);
        assert_eq!(fast, slow, "ids differ for {text:?}");
    }
}

/// Real-data check over the team's shared datasets (absent on a user's clone,
/// so it is `#[ignore]`d there; `.ci/run` runs it with `--ignored` when
/// `../shared/data` exists).
#[test]
#[ignore = "needs ../shared/data; run with --ignored"]
fn fast_path_matches_on_shared_data() {
    use semsift::dataset::{self, ReadOptions};
    let data = common::root().join("../shared/data");
    // (file, column, rows read: the first 60,000, or all of them).
    let sets = [
        (
            "alpaca_cleaned_partial/alpaca_cleaned_partial.jsonl.gz",
            "instruction",
            60_000,
        ),
        (
            "alpaca_cleaned_partial/alpaca_cleaned_partial.jsonl.gz",
            "output",
            60_000,
        ),
        (
            "bible_parallel_en/bible_en_20_translations.jsonl.gz",
            "text",
            60_000,
        ),
        ("20newsgroups/20news_bydate.jsonl.gz", "text", 60_000),
        // All 786,193 verses: 25 languages in Latin, Greek, Cyrillic,
        // Armenian, Cherokee, Gothic, Syriac, Myanmar and Japanese script.
        (
            "bible_parallel_multi/bible_multi_kjv_v11n.jsonl.gz",
            "text",
            usize::MAX,
        ),
    ];
    let mut model = embed::bundled::default_model().unwrap();
    let (mut ascii, mut unicode) = (0, 0);
    for (file, column, limit) in sets {
        let mut reader = dataset::open(&data.join(file), &ReadOptions::new([column])).unwrap();
        let mut rows = 0;
        while rows < limit {
            let batch = reader.next_batch((limit - rows).min(60_000)).unwrap();
            if batch.is_empty() {
                break;
            }
            for record in batch {
                let text = &record.texts[0];
                let (fast, slow) = both(&mut model, text);
                assert_eq!(fast, slow, "{file} row {}: ids differ", record.row);
                ascii += text.is_ascii() as usize;
                unicode += !text.is_ascii() as usize;
                rows += 1;
            }
        }
        eprintln!("{file} {column}: {rows} rows match");
    }
    eprintln!("{ascii} ASCII and {unicode} non-ASCII rows match");
    assert!(ascii > 100_000, "checked {ascii} ASCII rows");
    assert!(unicode > 500_000, "checked {unicode} non-ASCII rows");
}
