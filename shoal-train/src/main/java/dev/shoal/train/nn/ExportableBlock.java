package dev.shoal.train.nn;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;

/**
 * A DJL block that also knows its inference-time ONNX form (batch norm folded, trained weights as
 * initializers) and its cost.
 */
public abstract class ExportableBlock extends AbstractBlock {

  /** Appends this block's inference graph reading tensor {@code input}; returns the output's name. */
  public abstract String export(OnnxExport out, String input);

  /** Multiply-accumulates for one sample whose input has shape {@code input} (batch dimension 1). */
  public abstract long macs(Shape input);

  /** The output shape for one input shape (convenience over {@link #getOutputShapes}). */
  public Shape outputShape(Shape input) {
    return getOutputShapes(new Shape[] {input})[0];
  }
}
