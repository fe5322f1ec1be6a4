"""Story clusters on the Solr backend: one hit per story (the collapse query parser on the
``cluster`` field the Solr sink writes), the ``outlets`` facet, and each hit's ``cluster``.

The representative of a story is chosen as on the Whoosh backend (``search.clusters``):
among the story's matching members, one with all the query's words when any has them,
then the first published (undated last), then the first recorded, then the smallest id. Members are read from
the collection itself (articles and their exact copies carry the cluster), so a search
node needs nothing but Solr.

Solr collapses within each shard: a story whose members sit on different shards can
show one hit per shard. Documents are placed by id, and a story's cluster changes as
copies arrive, so no fixed routing can keep a story on one shard; exact on a one-shard
collection (README, "Past one machine").
"""

from __future__ import annotations

from search.clusters import outlets
from search.provenance import Member
from search.request import SearchRequest
from search.solr_query import QueryPlan

FIRST_PUBLISHED = "date_start asc,first_seen asc,id asc"  # search.provenance.MEMBER_ORDER
MAX_MEMBERS = 10_000  # members read for one page of hits


def collapse_filter(req: SearchRequest, p: QueryPlan) -> str | None:
    """The collapse post-filter (None: every copy its own hit, or a watch's id list)."""
    if req.copies != "collapse" or req.ids is not None:
        return None
    order = f"if(exists(query($aw)),0,1) asc,{FIRST_PUBLISHED}" if p.relaxed else FIRST_PUBLISHED
    return "{!collapse tag=collapse field=cluster nullPolicy=expand sort='" + order + "'}"


def outlet_facet(data: dict) -> dict[str, int]:
    """How many matching stories were published by 1, 2, 3... outlets."""
    counts = ((data.get("facet_counts") or {}).get("facet_fields") or {}).get("cluster_outlets") or {}
    return dict(sorted(((k, int(v)) for k, v in counts.items() if v), key=lambda kv: int(kv[0])))


def members_params(clusters: list[str]) -> list[tuple[str, str]]:
    """One request for every member of these clusters, first published first."""
    return [("q", "*:*"), ("fq", "{!terms f=cluster}" + ",".join(clusters)), ("fq", "kind:(article OR duplicate)"),
            ("fl", "id,source,date,kind,cluster"), ("sort", FIRST_PUBLISHED), ("rows", str(MAX_MEMBERS))]


def cluster_dicts(docs: list[dict]) -> dict[str, dict]:
    """cluster -> the ``cluster`` of its hits (search.clusters.cluster_dict's shape), for
    clusters of two or more members."""
    members: dict[str, list[Member]] = {}
    for d in docs:
        kind = "near" if d.get("kind") == "article" else "exact"
        members.setdefault(d["cluster"], []).append(
            Member(d["id"], d.get("source") or None, d.get("date") or None, kind))
    out = {}
    for c, ms in members.items():
        if len(ms) < 2:
            continue
        first = ms[0]
        out[c] = {
            "size": len(ms),
            "first_published": {"id": first.id, "source": first.source, "date": first.date},
            "outlets": outlets(ms),
            "members": [m.to_dict() for m in ms],
        }
    return out
