"""Semantic deduplication on a Ray cluster, with the decisions of one machine.

``dedup(data, columns, threshold)`` deduplicates a JSON Lines or Parquet file (or a
``ray.data.Dataset``) on the cluster this process is connected to, self or against a
reference set. With ``index="exact"`` it gives the very decisions ``semsift dedup
--index exact`` gives on one machine: the same kept rows, and for each removed row the
same ``duplicate_of``, ``score`` and ``exact``; the default ``index="cells"`` is
approximate, as the CLI's default index is. ``python -m semsift.ray dedup`` is its
command line, writing the files ``semsift dedup`` writes.

The stages, each a set of Ray tasks or actors reading and writing Parquet files in a
scratch directory every node can reach:

1. **plan**: the input split into shards (byte ranges of JSON Lines, Parquet row groups,
   dataset blocks), each counted, so every row has its number in the whole input;
2. **embed**: ``map_batches`` over the shards with a pool of actors (CPU or GPU), each
   loading the model once; each shard's texts grouped by exact copy, the first copies
   embedded, their keys written to partitions by key hash;
3. **exact**: one task per key partition finds exact copies across shards;
4. **search**, either ``exact``: one task per tile of row blocks (each block against
   itself and every later block), every pair scored; or ``cells``: k-means centroids
   fitted on a sample in one task and broadcast; each row gets a home cell and is sent
   to its ``probes`` nearest cells (less those an exact bound rules out, see
   ``_cells``); cells are packed into groups of equal work, huge cells split; rows are
   written to their groups' Parquet partitions and one task per group scores its cells;
5. **select**: SemHash's greedy keep-first selection over all pairs, in row order (one
   task), so decisions are globally consistent;
6. **write**: ``kept.<ext>`` and ``removed.jsonl`` written by semsift's own writer, byte
   for byte as ``semsift dedup`` writes them, then ``summary.json``.

Failed tasks (a worker killed, a node lost) are retried by Ray; every stage writes fixed
file names atomically, so a retry neither loses nor repeats a row. The scratch directory
is removed at the end (``keep_scratch=True`` keeps it).
"""

from semsift.ray._inputs import SHARD_BYTES
from semsift.ray._job import RayDedupResult, dedup

__all__ = ["SHARD_BYTES", "RayDedupResult", "dedup"]
