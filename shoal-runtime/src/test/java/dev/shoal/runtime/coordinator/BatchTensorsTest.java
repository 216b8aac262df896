package dev.shoal.runtime.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.shoal.model.TensorData;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Requests joined along dimension 0 and cut back, and outputs that cannot be cut. */
class BatchTensorsTest {

  private static Map<String, TensorData> request(int rows, float first) {
    float[] v = new float[rows * 3];
    for (int i = 0; i < v.length; i++) {
      v[i] = first + i;
    }
    return Map.of("x", TensorData.ofFloats("x", new long[] {rows, 3}, v));
  }

  @Test
  void joinedRequestsSplitBackIntoTheirOwnRows() {
    List<Map<String, TensorData>> requests = List.of(request(1, 0), request(2, 100), request(3, 200));
    Map<String, TensorData> joined = BatchTensors.concat(requests);
    assertThat(joined.get("x").shape()).containsExactly(6, 3);
    assertThat(BatchTensors.rows(joined)).isEqualTo(6);
    assertThat(BatchTensors.shapeKey(requests.get(0))).isEqualTo(BatchTensors.shapeKey(requests.get(2)));
    assertThat(BatchTensors.split(joined, new int[] {1, 2, 3})).isEqualTo(requests);
  }

  @Test
  void anOutputWithoutTheBatchRowsIsAnError() {
    Map<String, TensorData> notBatched = Map.of("y", TensorData.ofFloats("y", new long[] {1, 3}, new float[3]));
    assertThatThrownBy(() -> BatchTensors.split(notBatched, new int[] {1, 2}))
        .hasMessageContaining("output 'y' has shape [1, 3], not 3 rows of the batch");
  }
}
