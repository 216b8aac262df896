package dev.shoal.runtime.serving;

import dev.shoal.model.TensorSpec;
import java.util.List;

/** Metadata of a served model (KServe v2 model metadata). */
public record ServedModel(
    String name, String version, String platform, List<TensorSpec> inputs, List<TensorSpec> outputs) {}
