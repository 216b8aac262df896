/**
 * The {@code shoal} command: one picocli command class per sub-command. Commands only parse and
 * check options and hand them to the modules that do the work (planning, serving, training,
 * benchmarks, the demo).
 */
package dev.shoal.cli;
