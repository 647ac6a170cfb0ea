use super::*;
use crate::index::{testutil::clustered, IvfIndex, IvfParams};
use crate::progress::Silent;

/// Straight from the definition, quadratic: row `i` is removed in favour of its most
/// similar earlier kept row at or above `t` (ties: the earliest).
fn oracle(v: &[f32], dim: usize, t: f32) -> Vec<Canonical> {
    let row = |k: usize| &v[k * dim..(k + 1) * dim];
    let mut out: Vec<Canonical> = Vec::new();
    for i in 0..v.len() / dim {
        let mut best = Best::NONE;
        for (j, c) in out.iter().enumerate() {
            let s = dot(row(j), row(i));
            if c.is_kept(j) && s >= t {
                best.offer(Best {
                    score: s,
                    of: j as u32,
                });
            }
        }
        out.push(match best.found() {
            true => Canonical {
                of: best.of,
                score: best.score,
            },
            false => Canonical {
                of: i as u32,
                score: 1.0,
            },
        });
    }
    out
}

fn partition(v: &[f32], dim: usize, lists: usize, probes: usize, t: f32) -> IvfPartition {
    let params = IvfParams {
        lists,
        probes,
        max_probes: probes,
        self_threshold: Some(t - RESCORE_MARGIN),
        ..IvfParams::default()
    };
    IvfIndex::build(v, dim, params, &Silent)
        .unwrap()
        .into_partition()
        .unwrap()
}

fn run(
    v: &[f32],
    dim: usize,
    part: IvfPartition,
    t: f32,
    block: usize,
    h: Halving,
) -> Vec<Canonical> {
    run_blocks(v.to_vec(), dim, part, t, block, h, &Silent)
        .unwrap()
        .0
}

const NEVER: Halving = Halving {
    pairs: usize::MAX,
    min_block: usize::MAX,
};

#[test]
fn every_cell_probed_decides_as_the_definition() {
    let (n, dim, t) = (1500, 24, 0.9);
    let v = clustered(n, dim, 6, 0.25, 7);
    let want = oracle(&v, dim, t);
    let removed = want
        .iter()
        .enumerate()
        .filter(|(i, c)| !c.is_kept(*i))
        .count();
    assert!(removed > 200 && removed < 1300, "{removed} removed");
    for block in [n, 400, 97, 1] {
        let got = run(&v, dim, partition(&v, dim, 20, 20, t), t, block, NEVER);
        assert_eq!(got, want, "blocks of {block}");
    }
}

#[test]
fn dense_blocks_are_halved_and_decide_the_same() {
    // Runs of 60 near-copies in input order: a block's within pairs pile up.
    let (n, dim, t) = (1200, 16, 0.9);
    let v = clustered(n, dim, 60, 0.05, 3);
    let want = oracle(&v, dim, t);
    let halving = Halving {
        pairs: 2000,
        min_block: 16,
    };
    let (got, stats) = run_blocks(
        v.clone(),
        dim,
        partition(&v, dim, 8, 8, t),
        t,
        600,
        halving,
        &Silent,
    )
    .unwrap();
    assert!(stats.halved > 0, "{stats:?}");
    assert_eq!(stats.blocks, stats.halved + 2, "{stats:?}");
    assert_eq!(got, want);
}

#[test]
fn decisions_do_not_depend_on_threads_and_agree_with_the_definition() {
    let (n, dim, t) = (4000, 32, 0.85);
    let v = clustered(n, dim, 5, 0.3, 11);
    let want = oracle(&v, dim, t);
    let decide = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| run(&v, dim, partition(&v, dim, 60, 3, t), t, 700, NEVER))
    };
    let one = decide(1);
    assert_eq!(one, decide(3));
    let same = one.iter().zip(&want).filter(|(a, b)| a == b).count();
    assert!(same < n, "3 of 60 cells probed should miss something");
    assert!(
        same as f64 >= 0.98 * n as f64,
        "{same} of {n} decisions as the definition"
    );
}
