"""Code shared by the indexer (writer) and search (reader): schema, analyzer, dates, index layout."""
