package dev.shoal.train.separable;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.shoal.train.nn.OnnxExport;
import java.util.Optional;

/**
 * A ResNeXt bottleneck split by width: 1x1 to the bottleneck, 3x3 with the network's cardinality,
 * 1x1 to the output, plus the shortcut (identity, or a strided 1x1 projection), then ReLU. In the
 * separable network both 1x1 convolutions are grouped with one group per device; a block reading
 * the stem (which every device holds whole) reads all of it. The non-separable reference is the
 * same block with dense 1x1 convolutions.
 */
final class SeparableBottleneck extends AbstractBlock {

  private final SlicedConvBn reduce;
  private final SlicedConvBn spatial;
  private final SlicedConvBn expand;
  private final Optional<SlicedConvBn> projection;

  /**
   * @param inputGroups 1 when the input is whole on every device (or the network is dense), else
   *     the number of devices
   * @param groups devices the block is split over (1 for the reference)
   */
  SeparableBottleneck(SeparableArchitecture.Block b, int cardinality, int inputGroups, int groups) {
    reduce = addChildBlock("reduce", new SlicedConvBn(b.bottleneck(), 1, 1, inputGroups, true));
    spatial = addChildBlock("spatial", new SlicedConvBn(b.bottleneck(), 3, b.stride(), cardinality, true));
    expand = addChildBlock("expand", new SlicedConvBn(b.out(), 1, 1, groups, false));
    boolean identity = b.in() == b.out() && b.stride() == 1 && inputGroups == groups;
    projection =
        identity ? Optional.empty() : Optional.of(addChildBlock("projection", new SlicedConvBn(b.out(), 1, b.stride(), inputGroups, false)));
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
    NDList y = expand.forward(ps, spatial.forward(ps, reduce.forward(ps, inputs, training, params), training, params), training, params);
    NDList shortcut = projection.isPresent() ? projection.get().forward(ps, inputs, training, params) : inputs;
    return new NDList(Activation.relu(y.singletonOrThrow().add(shortcut.singletonOrThrow())));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputs) {
    return expand.getOutputShapes(spatial.getOutputShapes(reduce.getOutputShapes(inputs)));
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    reduce.initialize(manager, dataType, inputShapes);
    Shape[] r = reduce.getOutputShapes(inputShapes);
    spatial.initialize(manager, dataType, r);
    expand.initialize(manager, dataType, spatial.getOutputShapes(r));
    projection.ifPresent(p -> p.initialize(manager, dataType, inputShapes));
  }

  /** Device {@code part}'s slice of the block reading {@code input}; returns the output's name. */
  String export(OnnxExport out, String input, int part, int parts) {
    String y = expand.export(out, spatial.export(out, reduce.export(out, input, part, parts), part, parts), part, parts);
    String shortcut = projection.isPresent() ? projection.get().export(out, input, part, parts) : input;
    return out.graph().node("Relu", out.graph().node("Add", y, shortcut).out()).out();
  }

  long macs(Shape input) {
    Shape r = reduce.getOutputShapes(new Shape[] {input})[0];
    Shape s = spatial.getOutputShapes(new Shape[] {r})[0];
    return reduce.macs(input) + spatial.macs(r) + expand.macs(s) + projection.map(p -> p.macs(input)).orElse(0L);
  }
}
