package org.loginsights.solr;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.solr.cloud.MiniSolrCloudCluster;
import org.apache.solr.cloud.ZkTestServer;
import org.apache.solr.common.cloud.SolrZkClient;
import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;

/**
 * Starts a real Apache Solr 9 on 127.0.0.1 from the Maven Central artifacts, for machines without
 * Docker: SolrCloud with an embedded ZooKeeper (default) or one standalone node.
 *
 * <p>It only starts nodes. Installing the configset and creating the collection is done over HTTP
 * by {@code loginsights solr init}, the same way it is done on any other Solr 9. When every node
 * answers, the launcher writes a ready file (one line of JSON) so the Python side knows the ports.
 *
 * <p>With {@code --security-json FILE} Solr asks for credentials from its first request: the file
 * (rendered by loginsights, salted hashes only) is put into ZooKeeper before any node starts, or
 * into the standalone node's home, replacing what was there, so the file is the one truth.
 *
 * <p>With {@code --zk-credentials FILE} (a properties file of digest users, as Solr's
 * VMParamsZkCredentialsInjector reads it) ZooKeeper asks who you are too: every znode Solr and the
 * launcher write carries DigestZkACLProvider's ACLs (the admin user all, the read-only user read,
 * security.json admin only, anyone nothing), and znodes kept from an earlier run, the chroot and
 * the root get them at every start, as Solr's {@code updateacls} does.
 *
 * <p>Usage: {@code SolrLauncher --mode cloud|standalone --port P --nodes N --home DIR
 * --ready-file FILE [--security-json FILE] [--zk-credentials FILE]}
 */
public final class SolrLauncher {

  private SolrLauncher() {}

  public static void main(String[] args) {
    try {
      run(args);
    } catch (Throwable t) {
      // ZooKeeper's threads would keep a failed JVM alive; exit so the caller sees the failure.
      t.printStackTrace();
      System.exit(1);
    }
  }

  private static void run(String[] args) throws Exception {
    String mode = "cloud";
    int port = 8983;
    int nodes = 1;
    Path home = null;
    Path readyFile = null;
    Path securityJson = null;
    Path zkCredentials = null;
    for (int i = 0; i < args.length; i += 2) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      if (value == null) {
        fail("option " + args[i] + " needs a value");
      }
      switch (args[i]) {
        case "--mode" -> mode = value;
        case "--port" -> port = Integer.parseInt(value);
        case "--nodes" -> nodes = Integer.parseInt(value);
        case "--home" -> home = Path.of(value).toAbsolutePath();
        case "--ready-file" -> readyFile = Path.of(value).toAbsolutePath();
        case "--security-json" -> securityJson = Path.of(value).toAbsolutePath();
        case "--zk-credentials" -> zkCredentials = Path.of(value).toAbsolutePath();
        default -> fail("unknown option " + args[i]);
      }
    }
    if (home == null || readyFile == null) {
      fail("--home and --ready-file are required");
    }
    Files.createDirectories(home);
    Files.deleteIfExists(readyFile);
    if (zkCredentials != null) {
      // read by every SolrZkClient of this JVM: the nodes' and the launcher's own
      System.setProperty(
          "zkCredentialsProvider", "org.apache.solr.common.cloud.DigestZkCredentialsProvider");
      System.setProperty("zkACLProvider", "org.apache.solr.common.cloud.DigestZkACLProvider");
      System.setProperty(
          "zkCredentialsInjector", "org.apache.solr.common.cloud.VMParamsZkCredentialsInjector");
      System.setProperty("zkDigestCredentialsFile", zkCredentials.toString());
    }

    CountDownLatch stopped = new CountDownLatch(1);
    List<String> urls = new ArrayList<>();
    String zkHost = "";
    Runnable shutdown;
    byte[] security = securityJson == null ? null : Files.readAllBytes(securityJson);
    if ("standalone".equals(mode)) {
      if (security != null) {
        Files.write(home.resolve("security.json"), security);
      }
      JettySolrRunner node = startStandalone(home, port);
      urls.add(node.getBaseUrl().toString());
      shutdown = () -> stopQuietly(node::stop);
    } else if ("cloud".equals(mode)) {
      Path zkDir = home.resolve("zookeeper/server1/data");
      boolean fresh = !Files.exists(zkDir);
      ZkTestServer zk = new ZkTestServer(zkDir);
      zk.run(fresh);
      if (zkCredentials != null) {
        secureZooKeeper(zk); // what an earlier run left, before any node reads it
      }
      byte[] solrXml = MiniSolrCloudCluster.DEFAULT_CLOUD_SOLR_XML.getBytes(StandardCharsets.UTF_8);
      putInZooKeeper(zk, "/solr.xml", solrXml, false);
      if (security != null) {
        putInZooKeeper(zk, "/security.json", security, true);
      }
      List<JettySolrRunner> started = new ArrayList<>();
      java.util.Map<Integer, JettySolrRunner> byPort = new java.util.concurrent.ConcurrentHashMap<>();
      for (int i = 0; i < nodes; i++) {
        Path nodeHome = home.resolve("node" + (i + 1));
        Files.createDirectories(nodeHome);
        Properties nodeProps = new Properties();
        nodeProps.setProperty("zkHost", zk.getZkAddress());
        JettySolrRunner node =
            new JettySolrRunner(
                nodeHome.toString(),
                nodeProps,
                JettyConfig.builder().setContext("/solr").setPort(port + i).build());
        node.start();
        started.add(node);
        byPort.put(port + i, node);
        urls.add(node.getBaseUrl().toString());
      }
      zkHost = zk.getZkAddress();
      if (zkCredentials != null) {
        secureZooKeeper(zk); // and what the nodes made while starting
      }
      watchNodeRequests(home.resolve("control"), byPort);
      shutdown =
          () -> {
            for (JettySolrRunner node : started) {
              stopQuietly(node::stop);
            }
            stopQuietly(zk::shutdown);
          };
    } else {
      fail("--mode must be cloud or standalone, not " + mode);
      return;
    }

    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  shutdown.run();
                  stopped.countDown();
                },
                "loginsights-solr-shutdown"));

    String ready =
        "{\"mode\":\""
            + mode
            + "\",\"pid\":"
            + ProcessHandle.current().pid()
            + ",\"zkHost\":\""
            + zkHost
            + "\",\"urls\":[\""
            + String.join("\",\"", urls)
            + "\"]}\n";
    Path tmp = readyFile.resolveSibling(readyFile.getFileName() + ".tmp");
    Files.writeString(tmp, ready, StandardCharsets.UTF_8);
    Files.move(tmp, readyFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    System.out.println("loginsights solr ready: " + ready.trim());
    stopped.await();
  }

  /**
   * Stop or start one node of the running cluster on request, so that node loss can be tried by
   * hand: a file {@code stop-PORT} or {@code start-PORT} in the control folder is answered by
   * {@code done-stop-PORT} or {@code done-start-PORT} (or {@code failed-…} holding the reason).
   */
  private static void watchNodeRequests(Path control, java.util.Map<Integer, JettySolrRunner> nodes)
      throws Exception {
    Files.createDirectories(control);
    Thread watcher =
        new Thread(
            () -> {
              while (true) {
                try (var requests = Files.list(control)) {
                  for (Path request : requests.toList()) {
                    String name = request.getFileName().toString();
                    if (!name.startsWith("stop-") && !name.startsWith("start-")) {
                      continue;
                    }
                    String action = name.substring(0, name.indexOf('-'));
                    int port = Integer.parseInt(name.substring(name.indexOf('-') + 1));
                    Files.deleteIfExists(request);
                    String outcome = "done-" + name;
                    String detail = "";
                    try {
                      JettySolrRunner node = nodes.get(port);
                      if (node == null) {
                        throw new IllegalArgumentException("no node on port " + port);
                      }
                      if ("stop".equals(action)) {
                        node.stop();
                      } else if (!node.isRunning()) {
                        node.start();
                      }
                    } catch (Exception e) {
                      outcome = "failed-" + name;
                      detail = e.toString();
                    }
                    Files.writeString(control.resolve(outcome), detail, StandardCharsets.UTF_8);
                  }
                  Thread.sleep(200);
                } catch (InterruptedException e) {
                  return;
                } catch (Exception e) {
                  System.err.println("loginsights solr: node control: " + e);
                }
              }
            },
            "loginsights-node-control");
    watcher.setDaemon(true);
    watcher.start();
  }

  /**
   * Every znode under the chroot gets the ACL provider's ACLs (paths relative to the chroot, so
   * security.json is told apart), and so does the root, so that an anonymous client can create
   * nothing beside the chroot either.
   */
  private static void secureZooKeeper(ZkTestServer zk) throws Exception {
    try (SolrZkClient chrooted = zkClient(zk.getZkAddress())) {
      chrooted.updateACLs("/");
    }
    try (SolrZkClient root = zkClient(zk.getZkHost())) {
      root.setACL("/", root.getZkACLProvider().getACLsToAdd("/"), true);
      // ZooKeeper's own quota node is open to anyone (a hard quota could stop Solr's writes)
      root.setACL("/zookeeper/quota", root.getZkACLProvider().getACLsToAdd("/"), true);
    }
  }

  private static SolrZkClient zkClient(String url) {
    return new SolrZkClient.Builder()
        .withUrl(url)
        .withTimeout(30, TimeUnit.SECONDS)
        .withConnTimeOut(30, TimeUnit.SECONDS)
        .build();
  }

  /**
   * Cloud nodes read solr.xml and security.json from ZooKeeper (as MiniSolrCloudCluster does);
   * solr.xml is put once, security.json every start ({@code replace}). Paths are relative to the
   * chroot, which ZkTestServer makes, so the ACL provider knows security.json for what it is.
   */
  private static void putInZooKeeper(ZkTestServer zk, String path, byte[] data, boolean replace)
      throws Exception {
    try (SolrZkClient client = zkClient(zk.getZkAddress())) {
      if (!client.exists(path, true)) {
        client.makePath(path, data, true);
      } else if (replace) {
        client.setData(path, data, true);
      }
    }
  }

  private static JettySolrRunner startStandalone(Path home, int port) throws Exception {
    Path solrXml = home.resolve("solr.xml");
    if (!Files.exists(solrXml)) {
      Files.writeString(
          solrXml,
          "<solr>\n"
              + "  <str name=\"configSetBaseDir\">${configSetBaseDir:configsets}</str>\n"
              + "  <str name=\"coreRootDirectory\">${coreRootDirectory:cores}</str>\n"
              + "</solr>\n",
          StandardCharsets.UTF_8);
    }
    Files.createDirectories(home.resolve("configsets"));
    Files.createDirectories(home.resolve("cores"));
    JettySolrRunner node =
        new JettySolrRunner(home.toString(), JettyConfig.builder().setPort(port).build());
    node.start();
    return node;
  }

  private interface Stoppable {
    void stop() throws Exception;
  }

  private static void stopQuietly(Stoppable stoppable) {
    try {
      stoppable.stop();
    } catch (Exception e) {
      System.err.println("loginsights solr: error while stopping: " + e);
    }
  }

  private static void fail(String message) {
    System.err.println("loginsights solr launcher: " + message);
    System.exit(2);
  }
}
