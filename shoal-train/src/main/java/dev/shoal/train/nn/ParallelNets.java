package dev.shoal.train.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * Several independent networks fed the same input batch, trained in one loop: the variant family
 * (one output per member) or the class-parallel sub-models (their outputs concatenated along the
 * class axis, in member order).
 */
public final class ParallelNets extends AbstractBlock {

  private final List<ExportableBlock> members = new ArrayList<>();
  private final boolean concatenate;

  public ParallelNets(List<? extends ExportableBlock> members, boolean concatenate) {
    this.concatenate = concatenate;
    for (ExportableBlock m : members) {
      this.members.add(addChildBlock("member", m));
    }
  }

  public List<ExportableBlock> members() {
    return List.copyOf(members);
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray[] outs = new NDArray[members.size()];
    for (int i = 0; i < outs.length; i++) {
      outs[i] = members.get(i).forward(ps, inputs, training, params).singletonOrThrow();
    }
    return concatenate ? new NDList(NDArrays.concat(new NDList(outs), 1)) : new NDList(outs);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    Shape[] outs = new Shape[members.size()];
    long width = 0;
    for (int i = 0; i < outs.length; i++) {
      outs[i] = members.get(i).getOutputShapes(inputs)[0];
      width += outs[i].get(1);
    }
    return concatenate ? new Shape[] {new Shape(inputs[0].get(0), width)} : outs;
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    for (ExportableBlock m : members) {
      m.initialize(manager, dataType, inputShapes);
    }
  }
}
