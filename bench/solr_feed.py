"""Solr for the benchmarks: a local cluster (solr/local.py) and a timed bulk load of the
same Article records the Whoosh bench index is built from (bench/corpora.py)."""

from __future__ import annotations

import time
from itertools import islice
from typing import Iterable

from common.documents import Article
from common.solr_http import SolrClient
from indexer.solr_routes import ROUTE_FIELD
from indexer.solr_sink import article_doc
from solr.local import SolrCluster, launcher_unavailable

BATCH = 1000


def start_cluster() -> SolrCluster:
    """The launcher's 2-node cluster with collection "news" (exits with the reason if it cannot)."""
    reason = launcher_unavailable()
    if reason:
        raise SystemExit(f"cannot start Solr: {reason}")
    return SolrCluster()


def load_articles(client: SolrClient, articles: Iterable[Article], batch: int = BATCH) -> tuple[int, float]:
    """Send articles in committed batches, as the indexer's sink does; (count, seconds)."""
    it, n, t0 = iter(articles), 0, time.perf_counter()
    while chunk := list(islice(it, batch)):
        # each its own story (the bench loader computes no clusters): routed by its own id
        client.post_json("update", [article_doc(a, "bench") | {ROUTE_FIELD: a.id} for a in chunk], {"commit": "true"})
        n += len(chunk)
    return n, time.perf_counter() - t0
