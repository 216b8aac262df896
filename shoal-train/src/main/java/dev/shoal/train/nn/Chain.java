package dev.shoal.train.nn;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** Exportable blocks applied one after another. */
public final class Chain extends ExportableBlock {

  public Chain add(ExportableBlock block) {
    addChildBlock(block.getClass().getSimpleName(), block);
    return this;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDList x = inputs;
    for (Block b : children.values()) {
      x = b.forward(ps, x, training, params);
    }
    return x;
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    Shape[] s = inputs;
    for (Block b : children.values()) {
      s = b.getOutputShapes(s);
    }
    return s;
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    Shape[] s = inputShapes;
    for (Block b : children.values()) {
      b.initialize(manager, dataType, s);
      s = b.getOutputShapes(s);
    }
  }

  @Override
  public String export(OnnxExport out, String input) {
    String x = input;
    for (Block b : children.values()) {
      x = ((ExportableBlock) b).export(out, x);
    }
    return x;
  }

  @Override
  public long macs(Shape input) {
    long total = 0;
    Shape s = input;
    for (Block b : children.values()) {
      ExportableBlock e = (ExportableBlock) b;
      total += e.macs(s);
      s = e.outputShape(s);
    }
    return total;
  }
}
