"""Watching the archive: CSV export, standing searches and watchlists over ``search/``.

Only ``search.engine.SearchEngine`` and ``search.request.SearchRequest`` are used, plus
this package's own SQLite store beside the index (``INDEX_DIR/state.sqlite3``).
"""
