package io.softstream.worker;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs background work (fetching, checking and unpacking a model version; the demo's publishing) on
 * a short-lived thread at a lower CPU priority (Linux nice 10), so that on a busy machine the
 * serving threads get the cores first. Java's own thread priorities are ignored on Linux. A thread
 * of its own, because a thread's nice value is inherited by the threads it starts and cannot be
 * lowered again without privileges: the engine's thread pools must not be started from it.
 */
public final class LowPriority {
  private static final Logger log = LoggerFactory.getLogger(LowPriority.class);
  public static final int NICE = 10;

  /** The two libc calls used. */
  public interface LibC extends Library {
    int setpriority(int which, int who, int prio);

    int getpriority(int which, int who);
  }

  private static volatile LibC libc;
  private static volatile boolean unavailable;

  private LowPriority() {}

  /** Starts {@code work} on a daemon thread at nice {@value #NICE}. */
  public static Thread start(String name, Runnable work) {
    Thread t =
        new Thread(
            () -> {
              lowerThisThread();
              work.run();
            },
            name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  /**
   * Runs {@code work} on a thread at nice {@value #NICE} and waits for it; rethrows its failure.
   */
  public static <T> T call(String name, Callable<T> work) throws Exception {
    AtomicReference<T> result = new AtomicReference<>();
    AtomicReference<Exception> failure = new AtomicReference<>();
    Thread t =
        start(
            name,
            () -> {
              try {
                result.set(work.call());
              } catch (Exception e) {
                failure.set(e);
              }
            });
    try {
      t.join();
    } catch (InterruptedException e) {
      t.interrupt();
      throw e;
    }
    if (failure.get() != null) {
      throw failure.get();
    }
    return result.get();
  }

  /** The calling thread's nice value, or null where it cannot be read (not Linux, no libc). */
  public static Integer niceOfThisThread() {
    LibC c = libc();
    return c == null ? null : c.getpriority(0, 0);
  }

  private static void lowerThisThread() {
    LibC c = libc();
    // PRIO_PROCESS with who = 0 is the calling thread on Linux (nice is per thread there).
    if (c != null && c.getpriority(0, 0) < NICE && c.setpriority(0, 0, NICE) != 0) {
      log.debug("Cannot lower the priority of {}", Thread.currentThread().getName());
    }
  }

  private static LibC libc() {
    if (libc == null && !unavailable) {
      try {
        libc =
            System.getProperty("os.name", "").toLowerCase().contains("linux")
                ? Native.load("c", LibC.class)
                : null;
      } catch (Throwable e) { // no JNA native support here: run at normal priority
        log.debug(
            "No libc through JNA ({}): background work runs at normal priority", e.toString());
      }
      unavailable = libc == null;
    }
    return libc;
  }
}
