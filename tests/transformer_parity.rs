//! The candle transformer encoder against an independent float64 NumPy BERT
//! (`scripts/make-bert-fixture.py`), on the real all-MiniLM-L6-v2 weights
//! fetched by `scripts/fetch-minilm.sh`.

mod common;

use semsift::embed::{cosine, Device, Encoder, TransformerModel};

/// The fixture's texts and their float64 reference vectors.
fn reference() -> (Vec<String>, Vec<Vec<f32>>) {
    let fixture: serde_json::Value =
        serde_json::from_slice(&std::fs::read(common::fixture("minilm_reference.json")).unwrap())
            .unwrap();
    let items = fixture["items"].as_array().unwrap();
    assert!(items.len() >= 20);
    items
        .iter()
        .map(|i| {
            let vector = i["vector"].as_array().unwrap();
            let vector = vector.iter().map(|v| v.as_f64().unwrap() as f32).collect();
            (i["text"].as_str().unwrap().to_string(), vector)
        })
        .unzip()
}

#[test]
fn minilm_matches_numpy_reference() {
    let (texts, want) = reference();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    // A small batch size forces several length-sorted batches with padding.
    let model = TransformerModel::from_dir(&common::minilm_dir(), Device::Cpu, 7).unwrap();
    assert_eq!(model.dim(), 384);
    let got = model.encode(&texts).unwrap();
    for (i, want) in want.iter().enumerate() {
        let c = cosine(&got[i * 384..(i + 1) * 384], want);
        assert!(c >= 0.999, "item {i} ({:.50?}): cosine {c:.6}", texts[i]);
    }
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_request_fails_clearly_without_the_feature() {
    let err = TransformerModel::from_dir(&common::minilm_dir(), Device::Cuda(0), 8)
        .err()
        .expect("a CPU-only build cannot run on CUDA");
    assert!(err.to_string().contains("built without CUDA"), "{err}");
}

/// In `f16` on the device path (here candle's CPU backend), the vectors stay within
/// 0.999 cosine of the float64 reference, and the fingerprint tells them apart.
#[test]
fn f16_on_the_device_path_stays_close() {
    let (texts, want) = reference();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let full = TransformerModel::from_dir(&common::minilm_dir(), Device::Cpu, 7).unwrap();
    let half =
        TransformerModel::from_dir_in(&common::minilm_dir(), Device::CandleCpu, 7, true).unwrap();
    assert_ne!(half.fingerprint(), full.fingerprint());
    assert_eq!(half.device(), Device::CandleCpu);
    let got = half.encode(&texts).unwrap();
    let worst = want
        .iter()
        .enumerate()
        .map(|(i, want)| cosine(&got[i * 384..(i + 1) * 384], want))
        .fold(1f64, f64::min);
    let f32_vectors = full.encode(&texts).unwrap();
    let moved = got
        .iter()
        .zip(&f32_vectors)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    eprintln!("f16 worst cosine to the float64 reference: {worst:.8}; largest change {moved}");
    // f16 rounding does move the vectors (the precision is in force).
    assert!(moved > 1e-4, "largest change from f32: {moved}");
    assert!(worst >= 0.999, "worst cosine {worst}");
}
