package io.softstream.worker.internals;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the Kafka brokers answer, for {@code /health/ready} and the log. The loop cannot tell:
 * with the brokers gone its consumer's poll just returns nothing. So an admin client asks for the
 * cluster's nodes every {@link #EVERY} on its own thread. The first failure is logged at once, then
 * at most every {@link #LOG_EVERY} while it lasts, and the recovery once; the Kafka clients
 * reconnect by themselves.
 */
public final class BrokerWatch implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BrokerWatch.class);
  static final Duration EVERY = Duration.ofSeconds(2);
  static final Duration LOG_EVERY = Duration.ofSeconds(30);

  private final String workerId;
  private final Map<String, Object> clientConfig;
  private final Clock clock;
  private ScheduledExecutorService timer;
  private Admin admin;
  private long downSince = -1;
  private long lastLog;
  private volatile String problem;

  /**
   * @param clientConfig bootstrap servers and security settings of the worker's clients
   */
  public BrokerWatch(String workerId, Map<String, Object> clientConfig, Clock clock) {
    this.workerId = workerId;
    this.clientConfig = clientConfig;
    this.clock = clock;
  }

  /** Starts checking, on a daemon thread. */
  public synchronized void start() {
    Map<String, Object> c = new HashMap<>();
    clientConfig.forEach(
        (k, v) -> {
          if (AdminClientConfig.configNames().contains(k)) {
            c.put(k, v);
          }
        });
    c.put(AdminClientConfig.CLIENT_ID_CONFIG, "softstream-" + workerId + "-broker-watch");
    admin = Admin.create(c);
    timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, workerId + "-broker-watch");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleWithFixedDelay(
        this::check, EVERY.toMillis(), EVERY.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Why the brokers count as unreachable, or null while they answer. */
  public String problem() {
    return problem;
  }

  private void check() {
    String servers = String.valueOf(clientConfig.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG));
    try {
      admin
          .describeCluster(new DescribeClusterOptions().timeoutMs((int) (2 * EVERY.toMillis())))
          .nodes()
          .get();
      if (downSince >= 0) {
        log.warn(
            "Worker {} reaches the Kafka brokers at {} again after {} s; consuming resumes",
            workerId,
            servers,
            (clock.millis() - downSince) / 1000);
      }
      downSince = -1;
      problem = null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | RuntimeException e) {
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      long now = clock.millis();
      if (downSince < 0) {
        downSince = now;
        lastLog = now;
        log.warn(
            "Worker {} cannot reach the Kafka brokers at {} ({}); nothing is consumed or committed "
                + "until they answer, and /health/ready reports not ready",
            workerId,
            servers,
            cause.toString());
      } else if (now - lastLog >= LOG_EVERY.toMillis()) {
        lastLog = now;
        log.warn(
            "Worker {} still cannot reach the Kafka brokers at {}, for {} s now ({})",
            workerId,
            servers,
            (now - downSince) / 1000,
            cause.toString());
      }
      problem =
          "cannot reach the Kafka brokers at "
              + servers
              + " for "
              + (now - downSince) / 1000
              + " s ("
              + cause.getClass().getSimpleName()
              + ": "
              + cause.getMessage()
              + ")";
    }
  }

  @Override
  public synchronized void close() {
    if (timer != null) {
      timer.shutdownNow();
      admin.close(Duration.ZERO);
      timer = null;
    }
  }
}
