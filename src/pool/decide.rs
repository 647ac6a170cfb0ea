//! Deciding candidates: against the pool's segments, the candidates accepted earlier in
//! the call, and blocklist pools, in order.

use std::collections::HashMap;

use super::search::{narrow, nearest, widen_unit};
use super::{Blocked, Candidates, Hit, Nearest, Pool, PoolError, Source, Verdict};
use crate::dedup::RESCORE_MARGIN;
use crate::linalg::{dot, scores_into};

/// Candidates decided per step of [`Pool::add`]: each step scores its candidates against
/// the pool, the candidates accepted in earlier steps, and each other.
const STEP: usize = 2048;

impl Pool {
    /// The lowest id of a pool row with exact-text key `key`.
    fn find_key(&self, key: u128) -> Option<u64> {
        self.segments.iter().find_map(|s| s.find_key(key))
    }

    /// For each canonical vector: the pool's most similar row (a row with the same key
    /// first, at score 1).
    fn best_in_pool(
        &self,
        canon: &[f32],
        keys: &[u128],
    ) -> Result<Vec<Option<Nearest>>, PoolError> {
        let mut best: Vec<Option<Hit>> = vec![None; keys.len()];
        for s in &self.segments {
            for (b, hits) in best.iter_mut().zip(self.segment_nearest(s, canon, 1)?) {
                if let Some(h) = hits.first() {
                    if b.is_none_or(|b| h.beats(&b)) {
                        *b = Some(*h);
                    }
                }
            }
        }
        Ok(keys
            .iter()
            .zip(best)
            .map(|(&key, hit)| match self.find_key(key) {
                Some(id) => Some(Nearest {
                    id,
                    score: 1.0,
                    exact: true,
                    source: Source::Pool,
                }),
                None => hit.map(|h| Nearest {
                    id: h.id,
                    score: h.score,
                    exact: false,
                    source: Source::Pool,
                }),
            })
            .collect())
    }

    /// Decides `candidates` as [`add`](Self::add) would, without adding them.
    pub fn decide(
        &self,
        candidates: Candidates<'_>,
        blocklists: &[&Pool],
    ) -> Result<Vec<Verdict>, PoolError> {
        let (n, dim) = self.check_shapes(&candidates)?;
        for b in blocklists {
            if b.settings().model != self.settings().model || b.settings().dim != dim {
                return Err(self.mismatch(format!(
                    "blocklist {} holds vectors of model {:?}; this pool's is {:?}",
                    b.dir.display(),
                    b.settings().model,
                    self.settings().model
                )));
            }
        }
        let threshold = self.settings().threshold;
        let mut canon = Vec::new();
        widen_unit(&narrow(candidates.vectors), dim, &mut canon);
        let mut verdicts = Vec::with_capacity(n);
        // Candidates accepted so far in this call: canonical vectors, ids, keys.
        let mut taken: Vec<f32> = Vec::new();
        let mut taken_keys: HashMap<u128, u64> = HashMap::new();
        let first_new = self.len();
        for start in (0..n).step_by(STEP) {
            let end = (start + STEP).min(n);
            let block = &canon[start * dim..end * dim];
            let keys = &candidates.keys[start..end];
            let in_pool = self.best_in_pool(block, keys)?;
            let blocked = blocked_by(blocklists, block, keys, threshold)?;
            let earlier = nearest(block, dim, 1, taken.len() / dim, first_new, &|r, buf| {
                buf.clear();
                buf.extend_from_slice(&taken[r.start * dim..r.end * dim]);
            });
            let mut products = vec![0f32; (end - start) * (end - start)];
            scores_into(block, block, dim, &mut products);
            // Block rows accepted so far: position in the block and id.
            let mut here: Vec<(usize, u64)> = Vec::new();
            for i in 0..end - start {
                let q = &block[i * dim..(i + 1) * dim];
                let key = keys[i];
                let mut best = in_pool[i];
                let mut offer = |c: Nearest| {
                    if best.is_none_or(|b| ranks_before(&c, &b)) {
                        best = Some(c);
                    }
                };
                if let Some(&id) = taken_keys.get(&key) {
                    offer(batch(id, 1.0, true));
                }
                if let Some(h) = earlier[i].first() {
                    offer(batch(h.id, h.score, false));
                }
                let line = &products[i * (end - start)..(i + 1) * (end - start)];
                let top = here
                    .iter()
                    .map(|&(j, _)| line[j])
                    .fold(f32::NEG_INFINITY, f32::max);
                for &(j, id) in &here {
                    if line[j] >= top - RESCORE_MARGIN {
                        offer(batch(id, dot(&block[j * dim..(j + 1) * dim], q), false));
                    }
                }
                let rejected =
                    blocked[i].is_some() || best.is_some_and(|b| b.exact || b.score >= threshold);
                let id = (!rejected).then(|| first_new + (taken.len() / dim) as u64);
                if let Some(id) = id {
                    taken.extend_from_slice(q);
                    taken_keys.entry(key).or_insert(id);
                    here.push((i, id));
                }
                verdicts.push(Verdict {
                    id,
                    nearest: best,
                    blocked: blocked[i],
                });
            }
        }
        Ok(verdicts)
    }
}

/// A candidate accepted earlier in the call as a [`Nearest`].
fn batch(id: u64, score: f32, exact: bool) -> Nearest {
    Nearest {
        id,
        score,
        exact,
        source: Source::Batch,
    }
}

/// Whether `a` ranks before `b` as a nearest row: the same text first, then a higher
/// score, then the lower id.
fn ranks_before(a: &Nearest, b: &Nearest) -> bool {
    match (a.exact, b.exact) {
        (true, false) => true,
        (false, true) => false,
        _ => a.score > b.score || (a.score == b.score && a.id < b.id),
    }
}

/// For each canonical vector of `canon`: the first blocklist with a row of the same text
/// or at least `threshold` similar, and its most similar such row.
fn blocked_by(
    blocklists: &[&Pool],
    canon: &[f32],
    keys: &[u128],
    threshold: f32,
) -> Result<Vec<Option<Blocked>>, PoolError> {
    let mut out: Vec<Option<Blocked>> = vec![None; keys.len()];
    for (b, pool) in blocklists.iter().enumerate() {
        let found = pool.best_in_pool(canon, keys)?;
        for (slot, f) in out.iter_mut().zip(found) {
            if slot.is_some() {
                continue;
            }
            if let Some(f) = f.filter(|f| f.exact || f.score >= threshold) {
                *slot = Some(Blocked {
                    blocklist: b,
                    id: f.id,
                    score: f.score,
                    exact: f.exact,
                });
            }
        }
    }
    Ok(out)
}
