"""A sentence-transformers BERT folder with the architecture, tokenizer and pooling of
SRC_DIR and seeded random weights: for GPU speed runs on a host the real weights cannot
be copied to (the device tool carries at most 64 MiB; MiniLM's weights are 91 MB).
Speed does not depend on the weights, and semsift and sentence-transformers then run
the very same function, so their vectors can still be compared.

Usage: python3 scripts/random-bert.py SRC_DIR OUT_DIR [SEED]   (needs torch + transformers)
SRC_DIR needs config.json and the tokenizer files; its weights, if any, are not read.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def main() -> None:
    import torch
    from transformers import BertConfig, BertModel

    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if not (src / "config.json").is_file():
        sys.exit(f"random-bert: {src}/config.json is missing")
    out.mkdir(parents=True, exist_ok=True)
    for f in src.rglob("*"):
        rel = f.relative_to(src)
        if f.is_file() and f.name not in ("model.safetensors", "pytorch_model.bin"):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, out / rel)
    torch.manual_seed(seed)
    model = BertModel(BertConfig.from_json_file(str(src / "config.json")), add_pooling_layer=False)
    model.save_pretrained(str(out), safe_serialization=True)
    print(f"random-bert: {out} (seed {seed})", file=sys.stderr)


if __name__ == "__main__":
    main()
