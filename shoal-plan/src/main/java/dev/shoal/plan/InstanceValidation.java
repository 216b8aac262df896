package dev.shoal.plan;

/** Checks that an instance is well formed before any solver touches it. */
final class InstanceValidation {

  private InstanceValidation() {}

  static void check(Instance instance) {
    if (instance.layers() == null || instance.layers().isEmpty()) {
      throw new IllegalArgumentException("instance: no layers");
    }
    if (instance.devices() == null || instance.devices().isEmpty()) {
      throw new IllegalArgumentException("instance: no devices");
    }
    int devices = instance.devices().size();
    for (int d = 0; d < devices; d++) {
      DeviceSpec device = instance.devices().get(d);
      if (device == null || device.name() == null) {
        throw new IllegalArgumentException("instance: devices[" + d + "] has no name");
      }
      if (device.memoryBytes() < 0) {
        throw new IllegalArgumentException("instance: devices[" + d + "] (" + device.name() + ") memoryBytes < 0");
      }
    }
    for (int l = 0; l < instance.layers().size(); l++) {
      Layer layer = instance.layers().get(l);
      String where = "instance: layers[" + l + "]" + (layer != null && layer.name() != null ? " (" + layer.name() + ")" : "");
      if (layer == null || layer.time() == null) {
        throw new IllegalArgumentException(where + ": no time");
      }
      if (layer.time().length != devices) {
        throw new IllegalArgumentException(
            where + ": time has " + layer.time().length + " entries for " + devices + " devices");
      }
      for (int d = 0; d < devices; d++) {
        double t = layer.time()[d];
        if (!(t >= 0.0) || Double.isInfinite(t)) {
          throw new IllegalArgumentException(where + ": time[" + d + "] = " + t + " (must be finite and >= 0)");
        }
      }
      if (layer.paramBytes() < 0 || layer.workBytes() < 0 || layer.cutBytes() < 0) {
        throw new IllegalArgumentException(where + ": negative byte count");
      }
    }
    if (instance.inputBytes() < 0) {
      throw new IllegalArgumentException("instance: inputBytes < 0");
    }
    checkMatrix("bandwidth", instance.bandwidth(), devices);
    checkMatrix("latency", instance.latency(), devices);
    Integer source = instance.source();
    if (source != null && (source < 0 || source >= devices)) {
      throw new IllegalArgumentException("instance: source " + source + " out of range 0.." + (devices - 1));
    }
  }

  private static void checkMatrix(String name, double[][] matrix, int devices) {
    if (matrix == null || matrix.length != devices) {
      throw new IllegalArgumentException("instance: " + name + " must be a " + devices + "x" + devices + " matrix");
    }
    for (int a = 0; a < devices; a++) {
      if (matrix[a] == null || matrix[a].length != devices) {
        throw new IllegalArgumentException("instance: " + name + "[" + a + "] must have " + devices + " entries");
      }
      for (int b = 0; b < devices; b++) {
        double v = matrix[a][b];
        if (!(v >= 0.0) || Double.isInfinite(v)) {
          throw new IllegalArgumentException(
              "instance: " + name + "[" + a + "][" + b + "] = " + v + " (must be finite and >= 0)");
        }
      }
    }
  }
}
