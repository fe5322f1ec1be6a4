"""Corpus → clean, dated articles → Whoosh index. A library first; `python -m indexer` is its CLI."""
