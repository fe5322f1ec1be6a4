"""A local SolrCloud from the repo's launcher (solr/launcher): for trying the Solr backend,
for the tests (tests/solr_cluster.py) and for the benchmarks (bench/). Not for production,
which points SOLR_URL at a real SolrCloud.

    cluster = SolrCluster()          # 2 nodes + embedded ZooKeeper, collection "news"
    cluster.url                      # SOLR_URL listing both nodes
    cluster.stop_node(1); cluster.start_node(1); cluster.close()
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "solr" / "launcher"
JAR = LAUNCHER / "target" / "solr-launcher.jar"
CONFIGSET = ROOT / "solr" / "configset"
START_TIMEOUT = 300


def launcher_unavailable() -> str | None:
    """Why the launcher cannot run here (None when it can), building it once if needed
    (offline when the local Maven repository has Solr's artifacts, else online)."""
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
        self.admin(action="CREATE", name=name, **{"collection.configName": "news", "router.field": "route"},
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
