use super::*;
use crate::dataset::{RowNumbers, Texts};
use crate::dedup::job::least_similar;
use crate::dedup::{dedup_against, dedup_self, row_key, DedupParams, ExactGroups};
use crate::index::testutil::clustered;
use crate::index::IndexKind;
use crate::progress::Silent;

/// `n` unique rows, then an exact copy of every 7th: their groups and texts (`u{i}`).
fn rows_with_copies(n: usize) -> (ExactGroups, Texts) {
    let mut groups = ExactGroups::new();
    let mut texts = Texts::new(1);
    for i in 0..n {
        let t = format!("u{i}");
        groups.push(row_key(&[&t]));
        texts.push(&[t]);
    }
    for i in (0..n).step_by(7) {
        groups.push(row_key(&[format!("u{i}")]));
    }
    (groups, texts)
}

fn info() -> ReviewInfo {
    ReviewInfo {
        input: "in.jsonl".into(),
        model: "m".into(),
        columns: vec!["text".into()],
        ..Default::default()
    }
}

#[test]
fn the_slider_is_the_applied_threshold_the_sweep_and_a_grid_from_the_floor() {
    let ts = review_thresholds(0.9, &[0.8, 0.85, 0.805], 0.8);
    assert_eq!(ts.len(), 21 + 1, "0.80..=1.00 and 0.805: {ts:?}");
    assert_eq!((ts[0], ts[1], ts[2]), (0.8, 0.805, 0.81));
    assert_eq!(*ts.last().unwrap(), 1.0);
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "increasing, distinct");
    for t in [0.85, 0.9, 0.97] {
        assert_eq!(ts.iter().filter(|&&x| x == t).count(), 1, "{t} once");
    }
    // The grid starts at the floor, rounded up to a hundredth.
    let ts = review_thresholds(0.9, &[], 0.9);
    assert_eq!(ts.len(), 11);
    assert_eq!(ts[0], 0.9);
    let ts = review_thresholds(0.9, &[0.855], 0.855);
    assert_eq!(&ts[..3], &[0.855, 0.86, 0.87]);
    assert_eq!(review_thresholds(1.0, &[], 1.0), vec![1.0]);
}

#[test]
fn each_threshold_has_exact_counts_and_lists_its_lowest_scores() {
    let (dim, n) = (16, 400);
    let (groups, texts) = rows_with_copies(n);
    let params = DedupParams {
        threshold: 0.9,
        sweep: vec![0.8],
        index: IndexKind::Exact,
        keep_pairs: true,
        ..Default::default()
    };
    let v = clustered(n, dim, 10, 0.2, 5);
    let d = dedup_self(&groups, v.into(), dim, &params, &Silent).unwrap();
    // Row 3 of the file was skipped: read rows from 3 on are file rows one higher.
    let numbers = RowNumbers::new(vec![3]);
    let rows = QuotedRows {
        groups: &groups,
        texts: QuotedTexts::InMemory(&texts),
        numbers: &numbers,
    };
    let cap = 7;
    let review = build_review(
        &d,
        rows,
        None,
        info(),
        &ReviewParams {
            rows: cap,
            ..Default::default()
        },
        &Silent,
    )
    .unwrap();
    assert_eq!(review.points.len(), 21, "0.80..=1.00: {:?}", review.points);
    assert_eq!(review.rows, groups.rows() as u64);
    let file_row = |r: u64| numbers.file_row(r);
    let mut more_than_cap = false;
    let (mut any_new, mut any_restored) = (false, false);
    for p in &review.points {
        let t = p.threshold;
        let want = match p.applied {
            true => d.decisions.clone(),
            false => d.rethreshold(&groups, t).unwrap(),
        };
        assert_eq!(p.applied, t == 0.9);
        assert_eq!(p.sweep, t == 0.8);
        let kept = want.iter().filter(|x| x.is_kept()).count() as u64;
        let exact = want
            .iter()
            .filter(|x| matches!(x, Decision::Remove { exact: true, .. }))
            .count() as u64;
        assert_eq!(
            (p.kept, p.removed, p.exact_removed),
            (kept, groups.rows() as u64 - kept, exact)
        );
        // The listed rows are the lowest scores, as least_similar orders them.
        let lowest: Vec<ReviewRow> = least_similar(&want, cap)
            .into_iter()
            .map(|r| ReviewRow {
                row: file_row(r.row),
                duplicate_of: file_row(r.duplicate_of),
                score: r.score,
                exact: r.exact,
                new: d.decisions[r.row as usize].is_kept(),
            })
            .collect();
        assert_eq!(p.removed_rows, lowest, "{t}");
        more_than_cap |= p.removed > cap as u64;
        // Changes against the applied threshold, both ways.
        let new = (0..want.len())
            .filter(|&i| !want[i].is_kept() && d.decisions[i].is_kept())
            .count() as u64;
        let restored = (0..want.len())
            .filter(|&i| want[i].is_kept() && !d.decisions[i].is_kept())
            .count();
        assert_eq!((p.new, p.restored), (new, restored as u64), "{t}");
        assert_eq!(p.restored_rows.len(), restored.min(cap));
        assert!(p
            .restored_rows
            .windows(2)
            .all(|w| (w[0].score, w[0].row) <= (w[1].score, w[1].row)));
        for r in &p.restored_rows {
            let read = (0..want.len())
                .find(|&i| file_row(i as u64) == r.row)
                .unwrap();
            assert!(want[read].is_kept() && !d.decisions[read].is_kept());
        }
        any_new |= new > 0;
        any_restored |= restored > 0;
        if p.applied {
            assert_eq!((new, restored), (0, 0));
        }
        if let Some(s) = d.sweep.iter().find(|s| s.threshold == t) {
            assert_eq!((s.kept, s.removed), (p.kept, p.removed));
        }
        // Every listed row and the row it duplicates are quoted, by file row.
        for r in p.removed_rows.iter().chain(&p.restored_rows) {
            for row in [r.row, r.duplicate_of] {
                let read = if row > 3 { row - 1 } else { row };
                let g = groups.group_of_row()[read as usize];
                assert_eq!(review.texts[&row], format!("u{g}"), "row {row}");
            }
        }
    }
    assert!(
        more_than_cap,
        "some threshold removes more rows than are listed"
    );
    assert!(review.applied().is_some_and(|p| p.threshold == 0.9));
    assert!(review.reference_texts.is_empty() && !review.reference);
    let listed = review.listed_rows();
    assert!(listed >= cap && listed <= review.texts.len());
    assert!(
        any_new && any_restored,
        "thresholds below and above the applied one differ"
    );
}

#[test]
fn a_cap_of_zero_lists_no_rows_and_a_large_one_all() {
    let (dim, n) = (16, 200);
    let (groups, texts) = rows_with_copies(n);
    let params = DedupParams {
        threshold: 0.85,
        index: IndexKind::Exact,
        keep_pairs: true,
        ..Default::default()
    };
    let d = dedup_self(
        &groups,
        clustered(n, dim, 10, 0.2, 9).into(),
        dim,
        &params,
        &Silent,
    )
    .unwrap();
    let numbers = RowNumbers::default();
    let rows = QuotedRows {
        groups: &groups,
        texts: QuotedTexts::InMemory(&texts),
        numbers: &numbers,
    };
    let build = |cap| {
        let params = ReviewParams {
            rows: cap,
            ..Default::default()
        };
        build_review(&d, rows, None, info(), &params, &Silent).unwrap()
    };
    let (none, all) = (build(0), build(usize::MAX));
    assert!(none.texts.is_empty());
    for (a, b) in none.points.iter().zip(&all.points) {
        assert!(a.removed_rows.is_empty() && a.restored_rows.is_empty());
        assert_eq!((a.kept, a.removed, a.new), (b.kept, b.removed, b.new));
        assert_eq!(b.removed_rows.len() as u64, b.removed);
        assert_eq!(b.restored_rows.len() as u64, b.restored);
    }
    assert!(all.applied().unwrap().removed > 20);
}

#[test]
fn texts_join_their_columns_and_are_cut() {
    let mut groups = ExactGroups::new();
    let mut texts = Texts::new(2);
    let long = "é".repeat(30);
    for (i, row) in [["a", "b"], ["x", long.as_str()]].iter().enumerate() {
        groups.push(row_key(&[i.to_string()]));
        texts.push(row);
    }
    let numbers = RowNumbers::default();
    let disk = texts.into_disk().unwrap();
    let rows = QuotedRows {
        groups: &groups,
        texts: QuotedTexts::OnDisk(&disk),
        numbers: &numbers,
    };
    assert_eq!(quote(&rows, 0, 10).unwrap(), "a\nb");
    assert_eq!(
        quote(&rows, 1, 10).unwrap(),
        format!("x\n{}…", "é".repeat(8))
    );
    assert_eq!(quote(&rows, 1, 32).unwrap(), format!("x\n{long}"));
}

#[test]
fn a_deduplication_without_pairs_cannot_be_reviewed() {
    let (dim, n) = (16, 100);
    let (groups, texts) = rows_with_copies(n);
    let params = DedupParams::default();
    assert!(params.blockwise());
    let d = dedup_self(
        &groups,
        clustered(n, dim, 10, 0.2, 3).into(),
        dim,
        &params,
        &Silent,
    )
    .unwrap();
    let numbers = RowNumbers::default();
    let rows = QuotedRows {
        groups: &groups,
        texts: QuotedTexts::InMemory(&texts),
        numbers: &numbers,
    };
    let err = build_review(&d, rows, None, info(), &ReviewParams::default(), &Silent).unwrap_err();
    assert!(matches!(err, ReviewError::NoPairs { .. }), "{err}");
    assert!(err.to_string().contains("keep_pairs"), "{err}");
}

/// Asks every operation to stop.
struct Stop;

impl crate::progress::Progress for Stop {
    fn begin(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
    fn cancelled(&self) -> bool {
        true
    }
}

#[test]
fn a_review_stops_when_asked() {
    let (dim, n) = (16, 100);
    let (groups, texts) = rows_with_copies(n);
    let params = DedupParams {
        keep_pairs: true,
        ..Default::default()
    };
    let d = dedup_self(
        &groups,
        clustered(n, dim, 10, 0.2, 3).into(),
        dim,
        &params,
        &Silent,
    )
    .unwrap();
    let numbers = RowNumbers::default();
    let rows = QuotedRows {
        groups: &groups,
        texts: QuotedTexts::InMemory(&texts),
        numbers: &numbers,
    };
    let err = build_review(&d, rows, None, info(), &ReviewParams::default(), &Stop).unwrap_err();
    assert!(matches!(err, ReviewError::Cancelled), "{err}");
    assert!(crate::Error::from(err).is_cancelled());
}

#[test]
fn against_a_reference_the_matches_are_quoted_from_the_reference() {
    let dim = 16;
    let v = clustered(600, dim, 10, 0.2, 11);
    // Every third vector is an input row, the others the reference.
    let (mut rows_v, mut refs_v) = (Vec::new(), Vec::new());
    let (mut groups, mut reference) = (ExactGroups::new(), ExactGroups::new());
    let (mut texts, mut ref_texts) = (Texts::new(1), Texts::new(1));
    let mut keys = Vec::new();
    for (i, r) in v.chunks_exact(dim).enumerate() {
        let t = format!("v{i}");
        if i % 3 == 0 {
            rows_v.extend_from_slice(r);
            // Row 0's text is also in the reference (as its row 1): an exact match.
            let t = if i == 0 { "v1".to_string() } else { t };
            groups.push(row_key(&[&t]));
            keys.push(row_key(&[&t]));
            texts.push(&[t]);
        } else {
            refs_v.extend_from_slice(r);
            reference.push(row_key(&[&t]));
            ref_texts.push(&[format!("ref {t}")]);
        }
    }
    let params = DedupParams {
        threshold: 0.9,
        sweep: vec![0.85],
        index: IndexKind::Exact,
        keep_pairs: true,
        ..Default::default()
    };
    let d = dedup_against(
        &groups, &keys, &rows_v, &reference, &refs_v, dim, &params, &Silent,
    )
    .unwrap();
    let numbers = RowNumbers::default();
    let quoted = |groups, texts| QuotedRows {
        groups,
        texts: QuotedTexts::InMemory(texts),
        numbers: &numbers,
    };
    let info = ReviewInfo {
        against: Some("ref.jsonl".into()),
        ..info()
    };
    let review = build_review(
        &d,
        quoted(&groups, &texts),
        Some(quoted(&reference, &ref_texts)),
        info,
        &ReviewParams::default(),
        &Silent,
    )
    .unwrap();
    assert!(review.reference);
    let applied = review.applied().unwrap();
    assert!(applied.removed > 10, "{applied:?}");
    assert!(applied.exact_removed >= 1);
    assert_eq!(
        applied.removed_rows.last().unwrap().row,
        0,
        "exact: score 1"
    );
    for p in &review.points {
        let want = match p.applied {
            true => d.decisions.clone(),
            false => d.rethreshold(&groups, p.threshold).unwrap(),
        };
        let kept = want.iter().filter(|x| x.is_kept()).count() as u64;
        assert_eq!(p.kept, kept, "{}", p.threshold);
        for r in &p.removed_rows {
            assert!(review.texts[&r.row].starts_with('v'));
            assert!(review.reference_texts[&r.duplicate_of].starts_with("ref v"));
        }
    }
    // Vector 1 is the reference's row 0.
    assert_eq!(review.reference_texts[&0], "ref v1");
    assert_eq!(review.points[0].threshold, 0.85);
}
