package io.softstream.cli;

import sun.misc.Signal;

/**
 * SIGTERM/SIGINT start a graceful stop, so a worker commits its batch and exits 0, as Kubernetes
 * expects.
 */
final class Signals {
  private Signals() {}

  @SuppressWarnings("restriction")
  static void onTerminate(Runnable stop) {
    Signal.handle(new Signal("TERM"), s -> stop.run());
    Signal.handle(new Signal("INT"), s -> stop.run());
  }
}
