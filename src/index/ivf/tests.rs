//! Tests of the clustered index.

use super::super::{testutil::clustered, ExactIndex};
use super::pick::{self, distance, gap_floor, gap_key};
use super::*;
use crate::linalg::dot;
use crate::progress::Silent;

fn recall(got: &Neighbors, want: &Neighbors) -> f64 {
    let (mut found, mut total) = (0usize, 0usize);
    for i in 0..want.len() {
        let g: std::collections::HashSet<u32> = got.get(i).0.iter().copied().collect();
        total += want.get(i).0.len();
        found += want.get(i).0.iter().filter(|j| g.contains(j)).count();
    }
    found as f64 / total as f64
}

#[test]
fn threshold_search_finds_the_exact_pairs() {
    let dim = 32;
    let v = clustered(6000, dim, 20, 0.25, 4);
    let ivf = IvfIndex::build(&v, dim, IvfParams::default(), &Silent).unwrap();
    assert_eq!(ivf.lists(), auto_lists(6000, IvfParams::default().probes));
    let exact = ExactIndex::new(&v, dim).unwrap();
    let t = 0.9;
    let got = ivf.above(&v, t, &Silent).unwrap();
    let want = exact.above(&v, t, &Silent).unwrap();
    for i in 0..6000 {
        let (ids, scores) = got.get(i);
        assert!(ids.contains(&(i as u32)), "row {i} finds itself");
        assert!(scores.iter().all(|&s| s >= t));
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "sorted");
        for (&j, &s) in ids.iter().zip(scores) {
            assert!((s - dot(row(&v, dim, i), row(&v, dim, j as usize))).abs() < 1e-5);
        }
    }
    assert!(
        want.total() > 2 * 6000,
        "the data has pairs ({})",
        want.total()
    );
    let r = recall(&got, &want);
    assert!(r > 0.99, "recall {r}");
}

#[test]
fn cells_beyond_reach_hold_no_match_and_are_skipped() {
    let dim = 16;
    let v = clustered(4000, dim, 12, 0.4, 5);
    let t = 0.9;
    let params = IvfParams {
        lists: 40,
        probes: 40,
        max_probes: 40,
        ..IvfParams::default()
    };
    let ivf = IvfIndex::build(&v, dim, params, &Silent).unwrap();
    let cells = ivf.nearest_cells(&v, Some(t), None).unwrap();
    let mut cell_of = vec![0usize; 4000];
    for c in 0..ivf.lists() {
        for &m in ivf.cell(c) {
            cell_of[m as usize] = c;
        }
    }
    let (mut probed, mut matches) = (0, 0);
    for i in 0..4000 {
        let list = cells.of(i);
        probed += list.len();
        assert_eq!(list[0] as usize, cell_of[i], "own cell first");
        for (j, &cell) in cell_of.iter().enumerate() {
            if dot(row(&v, dim, i), row(&v, dim, j)) >= t {
                matches += 1;
                assert!(
                    list.contains(&(cell as u32)),
                    "row {i} skips row {j}'s cell"
                );
            }
        }
    }
    assert!(
        matches > 2 * 4000,
        "the data has pairs ({matches}, probed {probed})"
    );
    // Every cell is a candidate, yet most are out of reach of any match.
    assert!(probed < 4000 * 40 / 2, "probed {probed} cells");
}

#[test]
fn probing_every_cell_is_exact_and_thread_count_does_not_matter() {
    let dim = 16;
    let v = clustered(3000, dim, 10, 0.5, 8);
    let params = IvfParams {
        lists: 12,
        probes: 12,
        ..IvfParams::default()
    };
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let ivf = IvfIndex::build(&v, dim, params, &Silent).unwrap();
            (
                ivf.above(&v, 0.8, &Silent).unwrap(),
                ivf.quantizer.centroids().to_vec(),
            )
        })
    };
    let (one, c1) = run(1);
    let (two, c2) = run(2);
    assert_eq!(c1, c2);
    assert_eq!(one, two);
    let exact = ExactIndex::new(&v, dim).unwrap();
    let want = exact.above(&v, 0.8, &Silent).unwrap();
    assert_eq!(recall(&one, &want), 1.0);
}

#[test]
fn spilling_to_disk_gives_the_same_lists() {
    let dim = 16;
    let v = clustered(12_000, dim, 60, 0.5, 8);
    let params = IvfParams {
        lists: 40,
        probes: 4,
        ..IvfParams::default()
    };
    let in_memory = IvfIndex::build(&v, dim, params, &Silent).unwrap();
    let spilling = IvfIndex::build(
        &v,
        dim,
        IvfParams {
            spill_budget: Some(1),
            ..params
        },
        &Silent,
    )
    .unwrap();
    for max_hits in [usize::MAX, 40] {
        let a = in_memory.above_at_most(&v, 0.3, max_hits, &Silent).unwrap();
        let b = spilling.above_at_most(&v, 0.3, max_hits, &Silent).unwrap();
        // Several runs of the smallest budget (65,536 triples), and cut lists.
        assert!(a.total() > 4 << 16, "{}", a.total());
        assert_eq!(a.cut_count() > 0, max_hits < usize::MAX);
        assert!(a == b, "max_hits {max_hits}: the lists differ");
        assert!(b.is_on_disk() && !a.is_on_disk());
    }
}

#[test]
fn cross_queries_and_top_k() {
    let dim = 24;
    let v = clustered(4000, dim, 40, 0.3, 2);
    // Every fourth row queries the other three quarters (the same clusters).
    let (mut base, mut queries) = (Vec::new(), Vec::new());
    for (i, r) in v.chunks(dim).enumerate() {
        if i % 4 == 0 { &mut queries } else { &mut base }.extend_from_slice(r);
    }
    let (base, queries) = (&base[..], &queries[..]);
    let ivf = IvfIndex::build(base, dim, IvfParams::default(), &Silent).unwrap();
    let exact = ExactIndex::new(base, dim).unwrap();
    let got = ivf.above(queries, 0.85, &Silent).unwrap();
    let want = exact.above(queries, 0.85, &Silent).unwrap();
    assert_eq!(got.len(), 1000);
    assert!(
        want.total() > 5000,
        "queries have matches ({})",
        want.total()
    );
    assert!(recall(&got, &want) > 0.98);
    let top = ivf.top_k(queries, 5, &Silent).unwrap();
    let top_exact = exact.top_k(queries, 5, &Silent).unwrap();
    let mut same_first = 0;
    for i in 0..1000 {
        let (ids, scores) = top.get(i);
        assert_eq!(ids.len(), 5);
        assert!(scores.windows(2).all(|w| w[0] >= w[1]));
        same_first += (ids[0] == top_exact.get(i).0[0]) as usize;
    }
    assert!(same_first > 980, "{same_first}");
}

#[test]
fn empty_index_and_bad_parameters() {
    let ivf = IvfIndex::build(&[], 4, IvfParams::default(), &Silent).unwrap();
    let got = ivf.above(&[1.0, 0.0, 0.0, 0.0], 0.5, &Silent).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got.total(), 0);
    let bad = IvfParams {
        probes: 0,
        ..IvfParams::default()
    };
    let err = IvfIndex::build(&[1.0, 0.0], 2, bad, &Silent).err().unwrap();
    assert!(err.to_string().contains("probes = 0"), "{err}");
}

#[test]
fn gap_keys_order_as_gap_then_cell() {
    let gaps = [0.0f32, 1e-30, 0.25, 0.25, 0.5, 1.5, f32::INFINITY];
    let mut pairs: Vec<(f32, u32)> = Vec::new();
    for (i, &g) in gaps.iter().enumerate() {
        pairs.push((g, (7 * i as u32) % 5));
        pairs.push((g, 3));
    }
    let mut by_key = pairs.clone();
    by_key.sort_unstable_by_key(|&(g, c)| gap_key(g, c));
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    assert_eq!(by_key, pairs);
    assert_eq!(gap_key(0.75, 9) as u32, 9, "the cell is the low half");
}

#[test]
fn the_gap_floor_never_exceeds_the_gap() {
    // Queries and centroids spread at every distance, including centroids nearly equal.
    let dim = 24;
    let centroids = clustered(300, dim, 6, 0.6, 11);
    let queries = clustered(200, dim, 6, 0.8, 12);
    let params = IvfParams {
        lists: 300,
        ..IvfParams::default()
    };
    let ivf = IvfIndex::build(&centroids, dim, params, &Silent).unwrap();
    let q = &ivf.quantizer;
    let mut checked = 0;
    for x in queries.chunks_exact(dim) {
        let scores: Vec<f32> = (0..q.lists()).map(|c| dot(x, q.centroid(c))).collect();
        let (own, &own_score) = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap();
        for (c, &s) in scores.iter().enumerate() {
            let gap = pick::cell_gap(q, own as u32, own_score, c as u32, s);
            let floor = gap_floor(own_score, distance(own_score), s);
            assert!(floor <= gap, "cell {c}: floor {floor} > gap {gap}");
            checked += 1;
        }
    }
    assert!(checked > 10_000);
}
