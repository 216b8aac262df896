/** {@code shoal bench policy}: width-parallel separable networks under searched transmission policies. */
package dev.shoal.bench.separable;
