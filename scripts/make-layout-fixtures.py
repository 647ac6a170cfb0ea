#!/usr/bin/env python3
"""Writes the chat / preference layout fixtures in tests/data/layouts/.

The same eight short conversations (written for this project; two pairs are paraphrases
of one question, so a dedup of the first user turn finds them) in each layout:

- openai.jsonl      OpenAI `messages: [{role, content}]`, with a shared system prompt, a
                    multimodal `content` list, a tool call with `content: null`
- sharegpt.json     ShareGPT `conversations: [{from, value}]`, one JSON array
- preference.jsonl  `prompt` (text) with `chosen` / `rejected` message lists
- openai.parquet    the OpenAI layout as Parquet: `messages` list<struct<role, content>>,
                    `meta` struct (needs pyarrow: run with the venv's python)
"""
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "layouts"
SYSTEM = "You are a helpful assistant. Answer clearly and concisely, and say so when you are not sure."
CONVERSATIONS = [
    ("How do I reverse a list in Python?", "Use slicing: `items[::-1]` returns a reversed copy, and `items.reverse()` reverses in place."),
    ("What is the boiling point of water at sea level?", "Water boils at 100 °C (212 °F) at standard atmospheric pressure."),
    ("Give me three tips for sleeping better.", "Keep a regular schedule, avoid screens an hour before bed, and keep the bedroom cool and dark."),
    ("How can I reverse a Python list?", "You can call `list.reverse()` to reverse it in place, or use `reversed(items)` for an iterator."),
    ("Translate 'good morning' into Spanish.", "'Good morning' in Spanish is 'buenos días'."),
    ("What causes the seasons on Earth?", "The tilt of Earth's axis: each hemisphere gets more direct sunlight for part of the year."),
    ("Suggest three ways to sleep better at night.", "Go to bed at the same time, skip caffeine after noon, and make your room dark and quiet."),
    ("Write a haiku about autumn leaves.", "Red leaves drift and fall / the maple lets go of summer / wind carries them home"),
]
REJECTED = ["I don't know.", "Water boils when it is hot.", "Just sleep more.", "Lists cannot be reversed.",
            "Hola.", "Because of the Sun.", "Count sheep.", "Leaves are red."]


def openai_rows(plain: bool):
    """The OpenAI layout; `plain` keeps every content a string (for Parquet)."""
    rows = []
    for i, (user, answer) in enumerate(CONVERSATIONS):
        msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user},
                {"role": "assistant", "content": answer}]
        if i == 2:
            msgs += [{"role": "user", "content": "Thanks! And one more?"},
                     {"role": "assistant", "content": "Get some daylight in the morning."}]
        if i == 5 and not plain:
            msgs[1] = {"role": "user", "content": [{"type": "text", "text": user},
                                                   {"type": "image_url", "image_url": {"url": "file:///globe.png"}}]}
        if i == 7 and not plain:
            msgs.insert(2, {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "search", "arguments": "{\"q\":\"haiku\"}"}}]})
            msgs.insert(3, {"role": "tool", "tool_call_id": "call_1", "content": "A haiku has 5, 7 and 5 syllables."})
        rows.append({"id": f"chat-{i}", "messages": msgs, "meta": {"source": "fixture", "lang": "en"}})
    return rows


def write_jsonl(name, rows):
    with open(OUT / name, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write_jsonl("openai.jsonl", openai_rows(plain=False))
    share = []
    for i, (user, answer) in enumerate(CONVERSATIONS):
        turns = [{"from": "human", "value": user}, {"from": "gpt", "value": answer}]
        if i % 3 == 0:
            turns += [{"from": "human", "value": "Thank you!"},
                      {"from": "gpt", "value": "You're welcome! Have a nice day."}]
        share.append({"id": f"identity_{i}", "conversations": turns})
    with open(OUT / "sharegpt.json", "w", encoding="utf-8") as f:
        json.dump(share, f, indent=2, ensure_ascii=False)
        f.write("\n")
    write_jsonl("preference.jsonl", [
        {"prompt": user,
         "chosen": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}],
         "rejected": [{"role": "user", "content": user}, {"role": "assistant", "content": REJECTED[i]}]}
        for i, (user, answer) in enumerate(CONVERSATIONS)])
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        sys.exit("openai.parquet needs pyarrow: run with .venv/bin/python")
    pq.write_table(pa.Table.from_pylist(openai_rows(plain=True)), OUT / "openai.parquet")


if __name__ == "__main__":
    main()
