"""sentence-transformers on the same texts and model folder as `semsift bench-device`:
the peer issue 18's GPU targets compare semsift's MiniLM throughput with.

Usage: python3 scripts/st_embed.py MODEL_DIR TEXTS.jsonl ROWS DEVICE BATCH fp16|fp32 [SEMSIFT.npy]
Reads the `text` field of the first ROWS lines, encodes them once untimed (a batch) and
once timed, and prints one JSON line: {"measure": "st_embed", "texts_per_second": ...}.
With SEMSIFT.npy (semsift's vectors of the same texts, `semsift embed`), also prints
the minimum and mean cosine between the two.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    model_dir, path, rows, device, batch, precision = sys.argv[1:7]
    rows, batch = int(rows), int(batch)
    texts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
            if len(texts) == rows:
                break
    model = SentenceTransformer(model_dir, device=device)
    if precision == "fp16":
        model = model.half()
    model.encode(texts[:batch], batch_size=batch)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    vectors = model.encode(texts, batch_size=batch, convert_to_numpy=True, normalize_embeddings=True)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    out = {
        "measure": "st_embed",
        "precision": precision,
        "device": device,
        "texts": len(texts),
        "batch_size": batch,
        "seconds": seconds,
        "texts_per_second": len(texts) / seconds,
    }
    if len(sys.argv) > 7:
        ours = np.load(sys.argv[7])[: len(texts)]
        cos = (ours * vectors.astype(np.float32)).sum(axis=1)
        out["min_cosine_to_semsift"] = float(cos.min())
        out["mean_cosine_to_semsift"] = float(cos.mean())
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
