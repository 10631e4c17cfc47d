/**
 * The {@code softstream} launcher: picocli subcommands (demo, kafka, topics, ...). Commands only
 * parse options, build configs and call the modules; they print through picocli's writers and
 * return exit codes; only {@link io.softstream.cli.Softstream#main} calls {@code System.exit}.
 */
package io.softstream.cli;
