package launcher;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.cloud.MiniSolrCloudCluster;
import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;

/**
 * A local SolrCloud for trying the Solr backend and for tests: N Jetty nodes and an
 * embedded ZooKeeper (Solr's MiniSolrCloudCluster), the repo's configset uploaded and one
 * collection created. Prints "SOLR_URL=<node urls, comma-separated>" then "READY".
 *
 * <p>Commands on stdin, one per line: "stop N" / "start N" (node N, 0-based; answers
 * "STOPPED N" / "STARTED N"), "quit". Closing stdin or SIGTERM shuts the cluster down,
 * so a test harness that dies never leaves Solr running.
 */
public final class Launcher {
  private Launcher() {}

  public static void main(String[] args) throws Exception {
    Path configset = Paths.get("solr/configset");
    String collection = "news";
    int nodes = 2;
    int shards = 2;
    int replicas = 2;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--configset" -> configset = Paths.get(args[i + 1]);
        case "--collection" -> collection = args[i + 1];
        case "--nodes" -> nodes = Integer.parseInt(args[i + 1]);
        case "--shards" -> shards = Integer.parseInt(args[i + 1]);
        case "--replicas" -> replicas = Integer.parseInt(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (!Files.isRegularFile(configset.resolve("solrconfig.xml"))) {
      System.err.println("launcher: no solrconfig.xml in " + configset + " (pass --configset DIR)");
      System.exit(2);
    }
    Path base = Files.createTempDirectory("solr-launcher");
    MiniSolrCloudCluster cluster =
        new MiniSolrCloudCluster(nodes, base, JettyConfig.builder().setContext("/solr").build());
    Runtime.getRuntime().addShutdownHook(new Thread(() -> shutdown(cluster, base)));
    cluster.uploadConfigSet(configset.toAbsolutePath(), "news");
    CollectionAdminRequest.createCollection(collection, "news", shards, replicas)
        .setRouterField("route") // a story's members share a route, hence a shard
        .process(cluster.getSolrClient());
    cluster.waitForActiveCollection(collection, 120, TimeUnit.SECONDS, shards, shards * replicas);
    List<String> urls = new ArrayList<>();
    for (JettySolrRunner j : cluster.getJettySolrRunners()) {
      urls.add(j.getBaseUrl().toString());
    }
    System.out.println("SOLR_URL=" + String.join(",", urls));
    System.out.println("SOLR_COLLECTION=" + collection);
    System.out.println("READY");
    System.out.flush();
    commands(cluster, collection, shards, replicas);
    System.exit(0); // runs the shutdown hook
  }

  private static void commands(MiniSolrCloudCluster cluster, String collection, int shards, int replicas)
      throws Exception {
    List<JettySolrRunner> stopped = new ArrayList<>(cluster.getJettySolrRunners());
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] parts = line.trim().split("\\s+");
      if (parts[0].isEmpty()) {
        continue;
      }
      try {
        if (parts[0].equals("quit")) {
          return;
        } else if (parts[0].equals("stop") && parts.length == 2) {
          int n = Integer.parseInt(parts[1]);
          JettySolrRunner j = stopped.get(n);
          cluster.stopJettySolrRunner(j);
          cluster.waitForJettyToStop(j);
          System.out.println("STOPPED " + n);
        } else if (parts[0].equals("start") && parts.length == 2) {
          int n = Integer.parseInt(parts[1]);
          JettySolrRunner j = stopped.get(n);
          cluster.startJettySolrRunner(j, true);
          cluster.waitForNode(j, 60);
          cluster.waitForActiveCollection(collection, 120, TimeUnit.SECONDS, shards, shards * replicas);
          System.out.println("STARTED " + n);
        } else {
          System.out.println("ERROR unknown command: " + line);
        }
      } catch (Exception e) {
        System.out.println("ERROR " + e.getClass().getSimpleName() + ": " + e.getMessage());
      }
      System.out.flush();
    }
  }

  private static void shutdown(MiniSolrCloudCluster cluster, Path base) {
    try {
      cluster.shutdown();
    } catch (Exception e) {
      System.err.println("launcher: shutdown: " + e);
    }
    try (Stream<Path> walk = Files.walk(base)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (Exception e) {
      System.err.println("launcher: could not remove " + base + ": " + e);
    }
  }
}
