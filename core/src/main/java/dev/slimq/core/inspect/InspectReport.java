package dev.slimq.core.inspect;

import dev.slimq.core.stats.TensorStats;
import java.util.List;
import java.util.Map;

/**
 * What {@code slimq inspect} reports about a checkpoint. Field names are the JSON keys of
 * {@code inspect --json}; the report holds nothing time- or host-dependent.
 *
 * @param path         the inspected file or directory, as given
 * @param architecture recognized architecture (lower case, e.g. {@code llama}, {@code bert}, {@code unknown})
 * @param modelType    config.json's {@code model_type}, if any
 * @param parameters   total element count over all tensors
 * @param tensorBytes  bytes of tensor data
 * @param fileBytes    bytes of the weight files (data plus headers)
 * @param shards       weight files
 * @param layers       transformer layers (from the config, else counted from tensor names)
 * @param model        structural facts from config.json (empty without one)
 * @param dtypes       per dtype: tensors, parameters, bytes (sorted by dtype name)
 * @param roles        per tensor role: tensors and parameters
 * @param tensors      per-tensor rows, only when requested (in checkpoint order)
 */
public record InspectReport(String path, String architecture, String modelType, long parameters, long tensorBytes,
                            long fileBytes, int tensorCount, int shards, int layers, Map<String, Object> model,
                            Map<String, DTypeSummary> dtypes, Map<String, RoleSummary> roles,
                            Map<String, String> metadata, List<TensorRow> tensors) {

    /** Tensors, parameters and bytes of one dtype. */
    public record DTypeSummary(int tensors, long parameters, long bytes) {
    }

    /** Tensors and parameters of one role (linear, embedding, norm, ...). */
    public record RoleSummary(int tensors, long parameters) {
    }

    /** One tensor; {@code stats} only with {@code --stats}. */
    public record TensorRow(String name, String dtype, long[] shape, long parameters, long bytes, String role,
                            String linearRole, Integer layer, String shard, TensorStats stats) {
    }
}
