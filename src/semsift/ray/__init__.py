"""Semantic deduplication on a Ray cluster, with the decisions of one machine.

``dedup(data, columns, threshold)`` deduplicates a JSON Lines or Parquet file (or a
``ray.data.Dataset``) on the cluster this process is connected to, self or against a
reference set, and gives the very decisions ``semsift dedup --index exact`` gives on one
machine: the same kept rows, and for each removed row the same ``duplicate_of``,
``score`` and ``exact``. ``python -m semsift.ray dedup`` is its command line, writing the
files ``semsift dedup`` writes.

The stages, each a set of Ray tasks or actors reading and writing Parquet files in a
scratch directory every node can reach:

1. **plan**: the input split into shards (byte ranges of JSON Lines, Parquet row groups,
   dataset blocks), each counted, so every row has its number in the whole input;
2. **embed**: ``map_batches`` over the shards with a pool of actors (CPU or GPU), each
   loading the model once; each shard's texts grouped by exact copy, the first copies
   embedded, their keys written to partitions by key hash;
3. **exact**: one task per key partition finds exact copies across shards;
4. **cells**: k-means centroids fitted on a sample in one task, broadcast to all;
5. **assign**: each row gets a home cell, and is sent as a query to every cell that
   could hold a row within the threshold of it (an exact bound, see ``_cells``); cells
   are packed into groups of equal work, huge cells split; rows are written to their
   groups' Parquet partitions;
6. **search**: one task per group scores its cells exactly: every pair at or above the
   threshold is found once, in the home cell of its later row;
7. **select**: SemHash's greedy keep-first selection over all pairs, in row order (one
   task), so decisions are globally consistent;
8. **write**: ``kept.<ext>`` and ``removed.jsonl`` written by semsift's own writer, byte
   for byte as ``semsift dedup`` writes them, then ``summary.json``.

Failed tasks (a worker killed, a node lost) are retried by Ray; every stage writes fixed
file names atomically, so a retry neither loses nor repeats a row. The scratch directory
is removed at the end (``keep_scratch=True`` keeps it).
"""

from semsift.ray._inputs import SHARD_BYTES
from semsift.ray._job import RayDedupResult, dedup

__all__ = ["SHARD_BYTES", "RayDedupResult", "dedup"]
