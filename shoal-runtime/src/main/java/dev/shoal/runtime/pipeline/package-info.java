/** A model prepared for pipeline serving on this host: its profile and measured per-node times. */
package dev.shoal.runtime.pipeline;
