/**
 * Serving Fluid dynamic DNNs: {@link dev.shoal.runtime.fluid.FluidBackend} holds a Fluid network's
 * high-accuracy and high-throughput plans on the workers and switches between them through the
 * admin API or automatically ({@link dev.shoal.runtime.fluid.AutoMode}); failures are handled by
 * the plans themselves (see {@link dev.shoal.plan.strategy.FluidProducer}).
 */
package dev.shoal.runtime.fluid;
