use super::merge::merge_start;
use super::search::{narrow, widen_unit};
use super::*;
use crate::dedup::row_key;
use crate::linalg::testutil::unit_rows;
use crate::linalg::{dot, normalize_rows, Rng};

const DIM: usize = 32;

fn settings(threshold: f32) -> PoolSettings {
    PoolSettings {
        model: "test-model".into(),
        model_path: None,
        dim: DIM,
        columns: vec!["text".into()],
        threshold,
        index_rows: u64::MAX,
    }
}

/// `n` rows: seeded unit vectors where about a third are near copies (noise 0.05..0.4)
/// of an earlier row and a tenth exact copies of an earlier row's text.
struct Rows {
    vectors: Vec<f32>,
    keys: Vec<u128>,
    rows: Vec<String>,
}

fn rows(n: usize, seed: u64) -> Rows {
    let base = unit_rows(n, DIM, seed);
    let noise = unit_rows(n, DIM, seed + 1);
    let mut rng = Rng::new(seed + 2);
    let mut vectors = Vec::with_capacity(n * DIM);
    let mut texts: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let roll = rng.next_f64();
        if i > 0 && roll < 0.1 {
            let j = rng.below(i);
            vectors.extend_from_within(j * DIM..(j + 1) * DIM);
            texts.push(texts[j].clone());
        } else if i > 0 && roll < 0.45 {
            let j = rng.below(i);
            let eps = 0.05 + 0.35 * rng.next_f64() as f32;
            let mut v: Vec<f32> = (0..DIM)
                .map(|d| vectors[j * DIM + d] + eps * noise[i * DIM + d])
                .collect();
            normalize_rows(&mut v, DIM);
            vectors.extend_from_slice(&v);
            texts.push(format!("row {i}"));
        } else {
            vectors.extend_from_slice(&base[i * DIM..(i + 1) * DIM]);
            texts.push(format!("row {i}"));
        }
    }
    let keys = texts.iter().map(|t| row_key(&[t])).collect();
    let rows = texts
        .iter()
        .map(|t| serde_json::json!({ "text": t }).to_string())
        .collect();
    Rows {
        vectors,
        keys,
        rows,
    }
}

impl Rows {
    fn slice(&self, r: std::ops::Range<usize>) -> Candidates<'_> {
        Candidates {
            vectors: &self.vectors[r.start * DIM..r.end * DIM],
            keys: &self.keys[r.clone()],
            rows: &self.rows[r],
        }
    }
}

/// The rows greedy keep-first selection keeps, by brute force: a row is dropped when an
/// earlier kept row has its text or a canonical `dot` at least `t`.
fn greedy(r: &Rows, t: f32) -> Vec<usize> {
    let mut canon = Vec::new();
    widen_unit(&narrow(&r.vectors), DIM, &mut canon);
    let row = |i: usize| &canon[i * DIM..(i + 1) * DIM];
    let mut kept: Vec<usize> = Vec::new();
    for i in 0..r.keys.len() {
        let dup = kept
            .iter()
            .any(|&k| r.keys[k] == r.keys[i] || dot(row(k), row(i)) >= t);
        if !dup {
            kept.push(i);
        }
    }
    kept
}

fn accepted(verdicts: &[Verdict], offset: usize) -> Vec<usize> {
    (0..verdicts.len())
        .filter(|&i| verdicts[i].accepted())
        .map(|i| i + offset)
        .collect()
}

#[test]
fn adding_in_batches_accepts_what_one_greedy_pass_keeps() {
    let n = 3000;
    let r = rows(n, 11);
    let t = 0.9;
    let want = greedy(&r, t);
    assert!(
        want.len() > n / 2 && want.len() < n * 9 / 10,
        "{}",
        want.len()
    );

    let tmp = tempfile::tempdir().unwrap();
    let mut one = Pool::create(&tmp.path().join("one"), settings(t)).unwrap();
    let all = one.add(r.slice(0..n), &[]).unwrap();
    assert_eq!(accepted(&all, 0), want);

    let mut many = Pool::create(&tmp.path().join("many"), settings(t)).unwrap();
    let mut got = Vec::new();
    for b in 0..100 {
        let range = b * n / 100..(b + 1) * n / 100;
        let v = many.add(r.slice(range.clone()), &[]).unwrap();
        got.extend(accepted(&v, range.start));
        for (i, verdict) in v.iter().enumerate() {
            let k = range.start + i;
            match verdict.id {
                // Ids count accepted rows in order.
                Some(id) => assert_eq!(want[id as usize], k),
                None => {
                    let near = verdict.nearest.expect("a rejected row names its match");
                    let of = want[near.id as usize];
                    assert!(of < k);
                    if near.exact {
                        assert_eq!(r.keys[of], r.keys[k]);
                    } else {
                        assert!(near.score >= t);
                    }
                }
            }
        }
    }
    assert_eq!(got, want);
    // The merges kept the segments few and the rows in order.
    let stats = many.stats().unwrap();
    assert_eq!(stats.rows, want.len() as u64);
    assert!(stats.segments <= 8, "{} segments", stats.segments);
    let mut exported = Vec::new();
    many.for_each_row(|id, row| {
        exported.push((id, row.to_string()));
        Ok(())
    })
    .unwrap();
    let expected: Vec<(u64, String)> = want
        .iter()
        .enumerate()
        .map(|(id, &k)| (id as u64, r.rows[k].clone()))
        .collect();
    assert_eq!(exported, expected);
    many.verify().unwrap();
}

#[test]
fn a_rejected_candidate_names_its_most_similar_earlier_row() {
    let n = 1500;
    let r = rows(n, 5);
    let t = 0.85;
    let tmp = tempfile::tempdir().unwrap();
    let mut pool = Pool::create(tmp.path(), settings(t)).unwrap();
    let first = pool.add(r.slice(0..700), &[]).unwrap();
    let second = pool.add(r.slice(700..n), &[]).unwrap();
    let kept = greedy(&r, t);
    let mut canon = Vec::new();
    widen_unit(&narrow(&r.vectors), DIM, &mut canon);
    let row = |i: usize| &canon[i * DIM..(i + 1) * DIM];
    for (k, v) in first.iter().chain(&second).enumerate() {
        let earlier: Vec<usize> = kept.iter().copied().filter(|&j| j < k).collect();
        let Some(near) = v.nearest else {
            assert!(earlier.is_empty());
            continue;
        };
        let of = kept[near.id as usize];
        assert_eq!(near.source == Source::Pool, k >= 700 && of < 700, "row {k}");
        if let Some(&same) = earlier.iter().find(|&&j| r.keys[j] == r.keys[k]) {
            assert!(near.exact && near.score == 1.0 && of == same, "row {k}");
            continue;
        }
        // The most similar earlier kept row, ties to the earliest.
        let best = earlier
            .iter()
            .map(|&j| (j, dot(row(j), row(k))))
            .fold(None::<(usize, f32)>, |b, (j, s)| match b {
                Some((_, bs)) if bs >= s => b,
                _ => Some((j, s)),
            })
            .unwrap();
        assert_eq!((of, near.score), best, "row {k}");
        assert_eq!(v.accepted(), best.1 < t, "row {k}");
    }
}

#[test]
fn a_blocklist_rejects_candidates_like_its_rows_and_says_which() {
    let r = rows(600, 3);
    let t = 0.9;
    let tmp = tempfile::tempdir().unwrap();
    let mut test_set = Pool::create(&tmp.path().join("test"), settings(t)).unwrap();
    test_set.add(r.slice(0..200), &[]).unwrap();
    drop(test_set);
    let blocklist = Pool::open(&tmp.path().join("test")).unwrap();
    let mut pool = Pool::create(&tmp.path().join("pool"), settings(t)).unwrap();
    let verdicts = pool.add(r.slice(200..600), &[&blocklist]).unwrap();
    let blocked = verdicts.iter().filter(|v| v.blocked.is_some()).count();
    assert!(blocked > 20, "{blocked} blocked");
    for v in &verdicts {
        if let Some(b) = v.blocked {
            assert!(!v.accepted());
            assert_eq!(b.blocklist, 0);
            assert!(b.exact || b.score >= t);
            assert!(b.id < blocklist.len());
        }
    }
    // Without the blocklist, the same candidates pass or fail on the pool alone.
    let free = Pool::create(&tmp.path().join("free"), settings(t))
        .unwrap()
        .decide(r.slice(200..600), &[])
        .unwrap();
    assert!(free.iter().filter(|v| v.accepted()).count() > pool.len() as usize);
    // The blocklist was only read.
    assert_eq!(
        Pool::open(&tmp.path().join("test")).unwrap().len(),
        blocklist.len()
    );
}

#[test]
fn a_pool_reopens_as_left_and_one_writer_holds_it() {
    let r = rows(400, 9);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let mut pool = Pool::create(&dir, settings(0.9)).unwrap();
    pool.add(r.slice(0..200), &[]).unwrap();
    assert!(matches!(
        Pool::open_writer(&dir),
        Err(PoolError::Locked { .. })
    ));
    // A reader needs no lock and sees what was there when it opened.
    let reader = Pool::open(&dir).unwrap();
    pool.add(r.slice(200..400), &[]).unwrap();
    let total = pool.len();
    assert!(reader.len() < total);
    assert!(matches!(
        Pool::create(&dir, settings(0.9)),
        Err(PoolError::Locked { .. })
    ));
    drop(pool);
    assert!(matches!(
        Pool::create(&dir, settings(0.9)),
        Err(PoolError::Exists { .. })
    ));
    // A crashed writer's leftovers: a segment the manifest never named, a partial one.
    std::fs::create_dir_all(dir.join("segments/99999999")).unwrap();
    std::fs::create_dir_all(dir.join("segments/00000077.partial")).unwrap();
    let mut again = Pool::open_writer(&dir).unwrap();
    assert_eq!(again.len(), total);
    assert!(!dir.join("segments/99999999").exists());
    assert!(!dir.join("segments/00000077.partial").exists());
    // Adding the same rows again accepts none of them.
    let v = again.add(r.slice(0..400), &[]).unwrap();
    assert!(v.iter().all(|v| !v.accepted()));
    again.verify().unwrap();
    // A reader cannot add, and says so.
    let mut reader = Pool::open(&dir).unwrap();
    let fresh = unit_rows(1, DIM, 12345);
    let err = reader
        .add(
            Candidates {
                vectors: &fresh,
                keys: &[row_key(&["fresh"])],
                rows: &["{\"text\":\"fresh\"}".to_string()],
            },
            &[],
        )
        .unwrap_err();
    assert!(err.to_string().contains("reading only"), "{err}");
    assert_eq!(Pool::open(&dir).unwrap().len(), total);
}

#[test]
fn queries_return_the_nearest_rows_by_dot_best_first() {
    let r = rows(2500, 21);
    let tmp = tempfile::tempdir().unwrap();
    let mut pool = Pool::create(tmp.path(), settings(0.95)).unwrap();
    for b in 0..5 {
        pool.add(r.slice(b * 500..(b + 1) * 500), &[]).unwrap();
    }
    let kept = greedy(&r, 0.95);
    let mut canon = Vec::new();
    widen_unit(&narrow(&r.vectors), DIM, &mut canon);
    let queries = unit_rows(40, DIM, 99);
    let mut qc = Vec::new();
    widen_unit(&narrow(&queries), DIM, &mut qc);
    let found = pool.query(&queries, 7).unwrap();
    for (i, hits) in found.iter().enumerate() {
        let q = &qc[i * DIM..(i + 1) * DIM];
        let mut all: Vec<Hit> = kept
            .iter()
            .enumerate()
            .map(|(id, &k)| Hit {
                id: id as u64,
                score: dot(&canon[k * DIM..(k + 1) * DIM], q),
            })
            .collect();
        sort_hits(&mut all, 7);
        assert_eq!(hits, &all, "query {i}");
    }
}

#[test]
fn merges_start_at_the_smallest_run_outnumbering_the_segment_before_it() {
    assert_eq!(merge_start(&[]), None);
    assert_eq!(merge_start(&[5]), None);
    assert_eq!(merge_start(&[1000, 100]), None);
    assert_eq!(merge_start(&[1000, 100, 100]), Some(1));
    assert_eq!(merge_start(&[100, 50, 30, 30]), Some(0));
    assert_eq!(merge_start(&[400, 200, 100, 60]), None);
}

#[test]
fn imported_rows_are_kept_as_given_and_later_adds_are_decided_against_them() {
    let r = rows(900, 31);
    let tmp = tempfile::tempdir().unwrap();
    let mut pool = Pool::create(tmp.path(), settings(0.9)).unwrap();
    assert_eq!(pool.import(r.slice(0..600)).unwrap(), 0);
    // Every row is in, near and exact copies included.
    assert_eq!(pool.len(), 600);
    let mut stored = Vec::new();
    pool.for_each_row(|_, row| {
        stored.push(row.to_string());
        Ok(())
    })
    .unwrap();
    assert_eq!(stored, r.rows[..600]);
    // Adding the same rows again accepts none; new rows are decided as usual.
    assert!(pool
        .add(r.slice(0..600), &[])
        .unwrap()
        .iter()
        .all(|v| !v.accepted()));
    let v = pool.add(r.slice(600..900), &[]).unwrap();
    let accepted = v.iter().filter(|v| v.accepted()).count();
    assert!(accepted > 50 && accepted < 300, "{accepted}");
    assert_eq!(pool.len(), 600 + accepted as u64);
    assert_eq!(pool.import(r.slice(0..1)).unwrap(), pool.len() - 1);
}

/// Both pools' decisions on `rows`, which agree on at least 0.98 of them.
fn decide_alike(exact: &Pool, celled: &Pool, rows: Candidates<'_>) -> (Vec<Verdict>, Vec<Verdict>) {
    let a = exact.decide(rows, &[]).unwrap();
    let b = celled.decide(rows, &[]).unwrap();
    let same = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x.accepted() == y.accepted())
        .count();
    assert!(
        same as f64 >= 0.98 * a.len() as f64,
        "{same} of {}",
        a.len()
    );
    (a, b)
}

#[test]
fn large_segments_are_searched_through_cells_and_decide_nearly_as_exact_search() {
    let r = rows(46_000, 41);
    let tmp = tempfile::tempdir().unwrap();
    let mut exact = Pool::create(&tmp.path().join("exact"), settings(0.9)).unwrap();
    let mut celled = Pool::create(
        &tmp.path().join("cells"),
        PoolSettings {
            index_rows: 10_000,
            ..settings(0.9)
        },
    )
    .unwrap();
    exact.import(r.slice(0..20_000)).unwrap();
    celled.import(r.slice(0..20_000)).unwrap();
    assert!(celled.segments.iter().all(|s| s.cells.is_some()));
    assert!(exact.segments.iter().all(|s| s.cells.is_none()));
    let (a, b) = decide_alike(&exact, &celled, r.slice(20_000..26_000));
    let rejected = a.iter().filter(|v| !v.accepted()).count();
    assert!(rejected > 1000, "{rejected}");
    // Where both name the same row, the scores are the same to the bit: the cells widen
    // and scale rows exactly as the full scan does.
    let mut shared = 0;
    for (x, y) in a.iter().zip(&b) {
        if let (Some(x), Some(y)) = (x.nearest, y.nearest) {
            if x.id == y.id {
                assert_eq!(x.score.to_bits(), y.score.to_bits());
                shared += 1;
            }
        }
    }
    assert!(shared as f64 > 0.9 * a.len() as f64, "{shared}");
    // Reopened, the cells are read back and give the same answers.
    drop(celled);
    let again = Pool::open(&tmp.path().join("cells")).unwrap();
    again.verify().unwrap();
    assert_eq!(again.decide(r.slice(20_000..26_000), &[]).unwrap(), b);
    drop(again);
    // Two more imports merge the three segments, whose vectors are stored cell by cell,
    // into one: its rows keep their vectors (the same decisions as exact search again).
    let mut celled = Pool::open_writer(&tmp.path().join("cells")).unwrap();
    for part in [20_000..30_000, 30_000..40_000] {
        exact.import(r.slice(part.clone())).unwrap();
        celled.import(r.slice(part)).unwrap();
    }
    assert_eq!(celled.segments.len(), 1);
    assert!(celled.segments[0]
        .cells
        .as_ref()
        .is_some_and(|c| c.cell_order()));
    celled.verify().unwrap();
    decide_alike(&exact, &celled, r.slice(40_000..46_000));
}
