package dev.slimq.core.checkpoint;

import dev.slimq.core.safetensors.WritePlan;
import dev.slimq.core.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How an output checkpoint's tensors are split into files, as Hugging Face does it: greedily, in
 * the order the tensors are given, a new shard starting when the next tensor would take the current
 * one past the limit; a tensor larger than the limit is placed in a shard of its own right away while
 * the current shard stays open (huggingface_hub {@code split_state_dict_into_shards_factory}). One shard is named
 * {@code model.safetensors}; several are {@code model-00001-of-0000N.safetensors} with an index.
 */
public record ShardPlan(List<Shard> shards) {

    /** One output file and its write plan. */
    public record Shard(String fileName, WritePlan plan) {
    }

    public ShardPlan {
        shards = List.copyOf(shards);
    }

    /** {@code maxShardBytes <= 0} means a single file whatever its size. */
    public static ShardPlan of(List<TensorInfo> tensors, long maxShardBytes, Map<String, String> metadata) {
        List<List<TensorInfo>> groups = new ArrayList<>();
        List<TensorInfo> current = new ArrayList<>();
        long size = 0;
        for (TensorInfo t : tensors) {
            long bytes = TensorInfo.byteSize(t.dtype(), t.shape());
            if (maxShardBytes > 0 && bytes > maxShardBytes) {
                // huggingface_hub: an oversized tensor gets a shard of its own at once, and the
                // shard being filled stays open for the tensors after it.
                groups.add(List.of(t));
                continue;
            }
            if (maxShardBytes > 0 && !current.isEmpty() && size + bytes > maxShardBytes) {
                groups.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += bytes;
        }
        if (!current.isEmpty() || groups.isEmpty()) {
            groups.add(current);
        }
        List<Shard> shards = new ArrayList<>();
        int n = groups.size();
        for (int i = 0; i < n; i++) {
            // Locale.ROOT: a host locale with its own digits (Arabic, Persian, Thai) must not change file names.
            String name = n == 1 ? Checkpoint.SINGLE_FILE : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, n);
            shards.add(new Shard(name, WritePlan.of(groups.get(i), metadata)));
        }
        return new ShardPlan(shards);
    }

    public boolean isSharded() {
        return shards.size() > 1;
    }

    /** Tensor name to shard file name, in shard then file order. */
    public Map<String, String> weightMap() {
        Map<String, String> m = new LinkedHashMap<>();
        for (Shard s : shards) {
            for (TensorInfo t : s.plan().tensors()) {
                m.put(t.name(), s.fileName());
            }
        }
        return Collections.unmodifiableMap(m);
    }

    /** Sum of tensor data bytes (the index's {@code total_size}). */
    public long totalSize() {
        long s = 0;
        for (Shard sh : shards) {
            s += sh.plan().dataLength();
        }
        return s;
    }
}
