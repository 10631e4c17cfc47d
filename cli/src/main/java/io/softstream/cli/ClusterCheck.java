package io.softstream.cli;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.KafkaException;

/**
 * One connection check for every command that talks to a cluster: a wrong address fails within
 * seconds and names the address, instead of a Kafka-internal timeout a minute later. Call {@link
 * #require} before building clients.
 */
public final class ClusterCheck {
  /** How long a command waits for the broker before it gives up. */
  public static final Duration TIMEOUT = Duration.ofSeconds(10);

  private ClusterCheck() {}

  /**
   * Returns once the cluster at {@code bootstrap.servers} answers; otherwise throws an {@link
   * IllegalStateException} that names the address and how to fix it.
   */
  public static void require(Map<String, Object> clientProperties) {
    require(clientProperties, TIMEOUT);
  }

  public static void require(Map<String, Object> clientProperties, Duration timeout) {
    Object servers = clientProperties.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);
    // Only the admin client's own keys (security settings included): a worker's config has many
    // more.
    Map<String, Object> p = new HashMap<>();
    clientProperties.forEach(
        (k, v) -> {
          if (AdminClientConfig.configNames().contains(k)) {
            p.put(k, v);
          }
        });
    int ms = (int) timeout.toMillis();
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
    // One attempt per address: a refused connection should not be retried for the whole timeout.
    p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000);
    String refused = refusedEverywhere(String.valueOf(servers));
    if (refused != null) {
      // Nothing listens there: say so now rather than after the whole timeout.
      throw new IllegalStateException(
          "Cannot reach Kafka at "
              + servers
              + " ("
              + refused
              + "). Check --bootstrap-servers (env BOOTSTRAP_SERVERS); for a local broker run "
              + "`./softstream kafka` and paste the exports it prints.");
    }
    String cause;
    try (Admin admin = Admin.create(p)) {
      admin.describeCluster().clusterId().get(timeout.toMillis() + 500, TimeUnit.MILLISECONDS);
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      cause = "interrupted";
    } catch (ExecutionException e) {
      cause = String.valueOf(e.getCause().getMessage());
    } catch (java.util.concurrent.TimeoutException e) {
      cause = "no answer";
    } catch (KafkaException e) {
      // e.g. "No resolvable bootstrap urls" for an unknown host name
      cause = String.valueOf(e.getMessage());
    }
    throw new IllegalStateException(
        "Cannot reach Kafka at "
            + servers
            + " within "
            + timeout.toSeconds()
            + " s ("
            + cause
            + "). Check --bootstrap-servers (env BOOTSTRAP_SERVERS); for a local broker run "
            + "`./softstream kafka` and paste the exports it prints.");
  }

  /**
   * The reason when every bootstrap address refuses a TCP connection (nothing listens there), else
   * null: a host that does not answer at all, or a name that does not resolve, is left to the Kafka
   * client and its timeout.
   */
  static String refusedEverywhere(String servers) {
    StringBuilder why = new StringBuilder();
    for (String a : servers.split(",")) {
      String s = a.trim().replaceFirst("^[A-Za-z_]+://", "");
      int colon = s.lastIndexOf(':');
      if (colon < 0) {
        return null;
      }
      try (java.net.Socket socket = new java.net.Socket()) {
        int port = Integer.parseInt(s.substring(colon + 1));
        socket.connect(new java.net.InetSocketAddress(s.substring(0, colon), port), 2000);
        return null;
      } catch (java.net.ConnectException e) {
        why.append(why.length() == 0 ? "" : "; ").append(s).append(": connection refused");
      } catch (IOException | RuntimeException e) {
        return null;
      }
    }
    return why.length() == 0 ? null : why.toString();
  }
}
