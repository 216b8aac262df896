package dev.shoal.train.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** A fully connected layer on {@code [N, features]}, exported as Gemm. */
public final class Dense extends ExportableBlock {

  private final int units;
  private final Linear linear;

  public Dense(int units) {
    this.units = units;
    this.linear = addChildBlock("linear", Linear.builder().setUnits(units).build());
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    return linear.forward(ps, inputs, training, params);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    return linear.getOutputShapes(inputs);
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    linear.initialize(manager, dataType, inputShapes);
  }

  @Override
  public String export(OnnxExport out, String input) {
    NDArray w = linear.getParameters().get("weight").getArray();
    NDArray b = linear.getParameters().get("bias").getArray();
    return out.graph()
        .node(
            "Gemm",
            input,
            out.weight("fc_w", w.toFloatArray(), w.getShape().getShape()),
            out.weight("fc_b", b.toFloatArray(), units))
        .attr("transB", 1L)
        .out();
  }

  @Override
  public long macs(Shape input) {
    return input.get(1) * units;
  }
}
