//! `distill` reproduces the bundled model from the real all-MiniLM-L6-v2.
//!
//! The bundled folder was made by `semsift distill` and is the one Python
//! model2vec loads in `static_parity.rs`; re-running distillation here must
//! give the same tokenizer and, up to float16 rounding, the same vectors.

mod common;

use semsift::embed::distill::{distill, DistillOptions};
use semsift::embed::{self, cosine, Encoder, StaticModel};
use semsift::progress::Silent;

#[test]
fn distilling_minilm_reproduces_the_bundled_model() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("distilled");
    let model = distill(&common::minilm_dir(), &DistillOptions::default(), &Silent).unwrap();
    assert_eq!(model.dim, 256);
    assert_eq!(
        model.embeddings.len() / model.dim,
        30522 - 994,
        "[unused*] tokens dropped"
    );
    model.save(&dir).unwrap();

    let bundled_dir = common::root().join("models").join(embed::bundled::NAME);
    let tok = |d: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(d.join("tokenizer.json")).unwrap()).unwrap()
    };
    assert_eq!(tok(&dir), tok(&bundled_dir));
    assert!(tok(&dir)["model"]["vocab"].get("[unused5]").is_none());

    let fresh = StaticModel::from_dir(&dir).unwrap();
    let bundled = embed::bundled::default_model().unwrap();
    let texts = common::jsonl_texts(&common::fixture("model2vec/texts.jsonl"));
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (a, b) = (fresh.encode(&refs).unwrap(), bundled.encode(&refs).unwrap());
    for (i, (x, y)) in a.chunks(256).zip(b.chunks(256)).enumerate() {
        if y.iter().all(|&v| v == 0.0) {
            assert!(x.iter().all(|&v| v == 0.0));
            continue;
        }
        let c = cosine(x, y);
        assert!(c > 0.9999, "text {i}: cosine {c}");
    }
}

#[test]
fn distill_rejects_bad_arguments() {
    let bad = DistillOptions {
        dims: Some(0),
        ..Default::default()
    };
    assert!(distill(&common::minilm_dir(), &bad, &Silent).is_err());
    let err = distill(
        std::path::Path::new("/nonexistent/model"),
        &DistillOptions::default(),
        &Silent,
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("/nonexistent/model"), "{err}");
}
