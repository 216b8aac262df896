/**
 * Fluid dynamic DNNs: a small CNN whose channels in every layer are grouped into G sub-networks,
 * one per device, trained by nested incremental training so that each sub-network works alone and
 * all of them together (with one-way cross-group links at low resolution and a combined head) form
 * the accurate network; with the Static (dense, same widths) and Dynamic (slimmable, nested widths)
 * baselines, checkpoints that let a run resume, and the ONNX export and {@code fluid.json} manifest
 * that serving reads.
 */
package dev.shoal.train.fluid;
