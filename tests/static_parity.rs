//! The static encoder against Python model2vec.
//!
//! Reference vectors come from `scripts/make-model2vec-fixture.py`, which runs
//! the real `model2vec` package on the bundled model and two variant models
//! (int8 table; float32 table with `mapping` and `weights`). Because the
//! bundled model is semsift's own distillation, the default-model check also
//! proves the distilled folder round-trips through Python model2vec.

mod common;

use semsift::embed::{self, cosine, Encoder, StaticModel};
use semsift::store::npy;

fn check(encoder: &dyn Encoder, reference: &str, min_cos: f64) {
    let texts = common::jsonl_texts(&common::fixture("model2vec/texts.jsonl"));
    let (rows, dim, want) = npy::read_f32(&common::fixture(reference)).unwrap();
    assert_eq!(rows, texts.len());
    assert_eq!(dim, encoder.dim());
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let got = encoder.encode(&refs).unwrap();
    let mut zero_rows = 0;
    for (i, text) in texts.iter().enumerate() {
        let (g, w) = (&got[i * dim..(i + 1) * dim], &want[i * dim..(i + 1) * dim]);
        let w_norm: f32 = w.iter().map(|x| x * x).sum();
        if w_norm == 0.0 {
            // model2vec gives a zero vector when no token is known; so must we.
            assert!(
                g.iter().all(|&x| x == 0.0),
                "row {i} ({text:?}) must be zero"
            );
            zero_rows += 1;
            continue;
        }
        let c = cosine(g, w);
        assert!(
            c >= min_cos,
            "{reference} row {i} ({text:.60?}): cosine {c:.7}"
        );
    }
    assert!(
        zero_rows >= 2,
        "the fixture's empty and unknown-only texts give zero vectors"
    );
    assert!(zero_rows < texts.len() / 10);
}

#[test]
fn bundled_model_matches_python_model2vec() {
    let model = embed::bundled::default_model().unwrap();
    assert_eq!(model.dim(), 256);
    check(&model, "model2vec/default.npy", 0.9999);
}

#[test]
fn bundled_model_equals_the_committed_folder() {
    let dir = common::root().join("models").join(embed::bundled::NAME);
    let from_dir = StaticModel::from_dir(&dir).unwrap();
    check(&from_dir, "model2vec/default.npy", 0.9999);
}

#[test]
fn int8_model_matches_python_model2vec() {
    let model = StaticModel::from_dir(&common::fixture("model2vec/tiny-i8")).unwrap();
    assert_eq!(model.dim(), 16);
    check(&model, "model2vec/tiny-i8.npy", 0.9999);
}

#[test]
fn mapped_weighted_model_matches_python_model2vec() {
    let model = StaticModel::from_dir(&common::fixture("model2vec/tiny-mapped")).unwrap();
    check(&model, "model2vec/tiny-mapped.npy", 0.9999);
}

#[test]
fn output_is_unit_length_and_order_independent() {
    let model = embed::bundled::default_model().unwrap();
    let texts = [
        "a cat sat on the mat",
        "",
        "stock markets fell sharply today",
    ];
    let all = model.encode(&texts).unwrap();
    let one = model.encode(&texts[2..]).unwrap();
    assert_eq!(
        &all[512..],
        &one[..],
        "a text's vector does not depend on its batch"
    );
    let norm: f32 = all[..256].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    assert!(
        all[256..512].iter().all(|&x| x == 0.0),
        "empty text gives zero"
    );
    // Paraphrases land closer than unrelated text.
    let p = model
        .encode(&[
            "How do I reset my password?",
            "I forgot my password, how can I change it?",
            "The Nile is a river in Africa.",
        ])
        .unwrap();
    assert!(cosine(&p[..256], &p[256..512]) > cosine(&p[..256], &p[512..]) + 0.2);
}
