"""A real local SolrCloud for the Solr tests: the repo's launcher (solr/launcher), started
once per test session, 2 Jetty nodes and an embedded ZooKeeper.

`make test` builds the launcher first (`make solr-launcher`); a session without it builds
it here once (offline when the local Maven repository has the artifacts). Tests that need
the cluster skip with the reason when Java or Maven are missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

LAUNCHER = ROOT / "solr" / "launcher"
JAR = LAUNCHER / "target" / "solr-launcher.jar"
CONFIGSET = ROOT / "solr" / "configset"
START_TIMEOUT = 300


def launcher_unavailable() -> str | None:
    """Why the launcher cannot run here (None when it can), building it once if needed."""
    if not shutil.which("java"):
        return "Java is not installed (the Solr tests need Java 17 and Maven)"
    if JAR.exists() and (LAUNCHER / "target" / "lib").is_dir():
        return None
    if not shutil.which("mvn"):
        return "Maven is not installed and the launcher is not built (run `make solr-launcher`)"
    for offline in (["-o"], []):
        proc = subprocess.run(["mvn", "-q", "-B", *offline, "package"], cwd=LAUNCHER,
                              capture_output=True, text=True, timeout=1800)
        if proc.returncode == 0:
            return None
    return f"the Solr launcher did not build: {proc.stdout[-500:]}{proc.stderr[-500:]}"


class SolrCluster:
    """The launcher process; node URLs; stop/start a node; create collections."""

    def __init__(self) -> None:
        cmd = ["java", "-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
               "-cp", f"{JAR}:{LAUNCHER / 'target' / 'lib'}/*", "launcher.Launcher", "--configset", str(CONFIGSET)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.urls: list[str] = []
        self._lock = threading.Lock()
        lines = self._read_until("READY", START_TIMEOUT)
        for line in lines:
            if line.startswith("SOLR_URL="):
                self.urls = line.split("=", 1)[1].split(",")
        if not self.urls:
            self.close()
            raise RuntimeError(f"the Solr launcher did not start: {lines}")

    @property
    def url(self) -> str:
        """SOLR_URL listing every node."""
        return ",".join(self.urls)

    def _read_until(self, marker: str, timeout: float) -> list[str]:
        lines: list[str] = []
        timer = threading.Timer(timeout, self.proc.kill)
        timer.start()
        try:
            for line in self.proc.stdout:
                line = line.strip()
                lines.append(line)
                if line == marker or line.startswith("ERROR"):
                    break
        finally:
            timer.cancel()
        return lines

    def command(self, text: str, expect: str, timeout: float = 240) -> None:
        """Send one launcher command and wait for its answer."""
        with self._lock:
            self.proc.stdin.write(text + "\n")
            self.proc.stdin.flush()
            lines = self._read_until(expect, timeout)
        if not lines or lines[-1] != expect:
            raise RuntimeError(f"launcher answered {lines} to {text!r}")

    def stop_node(self, n: int) -> None:
        self.command(f"stop {n}", f"STOPPED {n}")

    def start_node(self, n: int) -> None:
        self.command(f"start {n}", f"STARTED {n}")

    def admin(self, **params: str) -> dict:
        """A Collections API call on the first live node."""
        query = urllib.parse.urlencode({**params, "wt": "json"})
        last = None
        for base in self.urls:
            try:
                with urllib.request.urlopen(f"{base}/admin/collections?{query}", timeout=180) as resp:
                    return json.load(resp)
            except OSError as exc:
                last = exc
        raise RuntimeError(f"no node answered the Collections API: {last}")

    def create_collection(self, name: str, shards: int = 2, replicas: int = 2) -> str:
        self.admin(action="CREATE", name=name, **{"collection.configName": "news"},
                   numShards=str(shards), replicationFactor=str(replicas), waitForFinalState="true")
        return name

    def close(self) -> None:
        """Close stdin (the launcher shuts the cluster down) and wait for the process."""
        try:
            if self.proc.poll() is None:
                self.proc.stdin.close()
                self.proc.wait(timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.terminate()
            self.proc.wait(timeout=60)
        finally:
            for pipe in (self.proc.stdin, self.proc.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass


@pytest.fixture(scope="session")
def solr_cluster():
    """The local SolrCloud, started once per session and stopped at its end."""
    reason = launcher_unavailable()
    if reason:
        pytest.skip(reason)
    cluster = SolrCluster()
    try:
        yield cluster
    finally:
        cluster.close()


def index_into_solr(cluster: SolrCluster, corpus: Path, state: Path, collection: str, *extra: str):
    """Run `python -m indexer --sink solr` as cron would (a real subprocess)."""
    from conftest import run_indexer

    return run_indexer(corpus, state, "--quiet", "--sink", "solr", "--solr-url", cluster.url,
                       "--solr-collection", collection, *extra)


def solr_config(cluster: SolrCluster, collection: str, state: Path) -> dict:
    """create_app/open_backend settings for a collection of the local cluster."""
    return {"SEARCH_BACKEND": "solr", "SOLR_URL": cluster.url, "SOLR_COLLECTION": collection,
            "INDEX_DIR": str(state)}


@pytest.fixture(scope="session")
def solr_search_config(solr_cluster, tmp_path_factory) -> dict:
    """The search test corpus (search_fixtures.write_corpus) indexed into collection "search"."""
    from search_fixtures import write_corpus

    corpus = write_corpus(tmp_path_factory.mktemp("solr-search-corpus") / "corpus")
    state = tmp_path_factory.mktemp("solr-search-state")
    collection = solr_cluster.create_collection("search")
    index_into_solr(solr_cluster, corpus, state, collection)
    return solr_config(solr_cluster, collection, state)
