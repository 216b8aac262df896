package dev.shoal.train.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * Several independent networks trained in one loop on the same batch of images: the variant family
 * (one output per member) or the class-parallel sub-models (their outputs concatenated along the
 * class axis, in member order).
 */
public final class ParallelNets extends AbstractBlock {

  /** What each member is fed. */
  public enum Feed {
    /** Every member gets the whole single-channel input {@code [N, 1, H, W]}. */
    SAME_VIEW,
    /**
     * The input is {@code [N, members, H, W]}, one augmented view of each image per member, and
     * member i gets channel i: the members see the same images, cropped and flipped differently.
     */
    OWN_VIEW
  }

  private final List<ExportableBlock> members = new ArrayList<>();
  private final boolean concatenate;
  private final Feed feed;

  public ParallelNets(List<? extends ExportableBlock> members, boolean concatenate, Feed feed) {
    this.concatenate = concatenate;
    this.feed = feed;
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
      outs[i] = members.get(i).forward(ps, memberInput(inputs, i), training, params).singletonOrThrow();
    }
    return concatenate ? new NDList(NDArrays.concat(new NDList(outs), 1)) : new NDList(outs);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    Shape[] outs = new Shape[members.size()];
    long width = 0;
    for (int i = 0; i < outs.length; i++) {
      outs[i] = members.get(i).getOutputShapes(memberShape(inputs))[0];
      width += outs[i].get(1);
    }
    return concatenate ? new Shape[] {new Shape(inputs[0].get(0), width)} : outs;
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    for (ExportableBlock m : members) {
      m.initialize(manager, dataType, memberShape(inputShapes));
    }
  }

  /** The number of input channels this block expects: one per member when each has its own view. */
  public int inputChannels() {
    return feed == Feed.OWN_VIEW ? members.size() : 1;
  }

  private NDList memberInput(NDList inputs, int member) {
    return feed == Feed.SAME_VIEW
        ? inputs
        : new NDList(inputs.singletonOrThrow().get(new NDIndex(":, {}:{}", member, member + 1)));
  }

  private Shape[] memberShape(Shape[] inputs) {
    if (feed == Feed.SAME_VIEW) {
      return inputs;
    }
    Shape in = inputs[0];
    if (in.get(1) != members.size()) {
      throw new IllegalArgumentException(
          "each of " + members.size() + " members needs its own view, got " + in.get(1) + " input channels");
    }
    return new Shape[] {new Shape(in.get(0), 1, in.get(2), in.get(3))};
  }
}
