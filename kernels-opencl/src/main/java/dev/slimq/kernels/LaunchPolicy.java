package dev.slimq.kernels;

/**
 * How kernels are shaped for one device, derived from what it reports — never from its vendor.
 *
 * <p>CPU devices (PoCL and the like) run a work-group on one thread and vectorize explicitly, so one
 * work-item streams whole rows with the widest vectors ({@code width} = the preferred float width),
 * four rows at a time so each activation load serves four rows ({@code gemvRows}), and one chunk is
 * a whole group ({@code wholeGroupChunks}). GPUs interleave lanes: a team of up to {@code maxTeam}
 * lanes shares each row, adjacent lanes read adjacent 16-byte tiles ({@code width} 4), and the team
 * reduces through local memory (or a sub-group).
 *
 * @param width            floats per vector and 32-bit words per code tile: 4, 8 or 16
 * @param localSize        work-items per work-group (upper bound; small problems use fewer)
 * @param maxTeam          most lanes sharing one row (power of two; 1 = no split of K)
 * @param gemvRows         rows per work-item for batch 1
 * @param gemmRows         rows per work-item for batches above 1
 * @param gemmCols         batch rows per work-item for batches above 1
 * @param wholeGroupChunks one scale application per group (CPU) rather than per tile
 * @param contiguousStream the bandwidth probe reads one contiguous slice per work-item (CPU)
 * @param subGroups        try sub-group reductions (the device has cl_khr_subgroups)
 * @param computeUnits     the device's compute units (to keep every unit busy on small matrices)
 */
public record LaunchPolicy(int width, int localSize, int maxTeam, int gemvRows, int gemmRows, int gemmCols,
                           boolean wholeGroupChunks, boolean contiguousStream, boolean subGroups, int computeUnits) {

    public LaunchPolicy {
        if (width != 4 && width != 8 && width != 16) {
            throw new IllegalArgumentException("width must be 4, 8 or 16, got " + width);
        }
        if (maxTeam < 1 || Integer.bitCount(maxTeam) != 1 || localSize < maxTeam || localSize % maxTeam != 0) {
            throw new IllegalArgumentException("team " + maxTeam + " must be a power of two dividing the local size " + localSize);
        }
        if (gemvRows < 1 || gemvRows > 8 || gemmRows < 1 || gemmRows > 8 || gemmCols < 1 || gemmCols > 8) {
            throw new IllegalArgumentException("rows and columns per work-item must be 1..8");
        }
        if (computeUnits < 1) {
            throw new IllegalArgumentException("compute units must be positive");
        }
    }

    /** The policy for {@code d}, from its type, preferred vector width, work-group limit and extensions. */
    public static LaunchPolicy forDevice(DeviceInfo d) {
        int maxWg = (int) Math.max(1, Math.min(1024, d.maxWorkGroupSize()));
        if (d.cpu()) {
            int w = Math.max(4, Math.min(16, Integer.highestOneBit(Math.max(1, d.preferredVectorWidth()))));
            return new LaunchPolicy(w, 1, 1, 8, 4, 4, true, true, false, Math.max(1, d.computeUnits()));
        }
        int local = Integer.highestOneBit(Math.min(256, maxWg));
        int team = Math.min(32, local);
        return new LaunchPolicy(4, local, team, 1, 1, 4, false, false, d.subGroups(), Math.max(1, d.computeUnits()));
    }

    /** This policy with another most lanes per row and local size (tests use it to exercise the reductions on CPUs). */
    public LaunchPolicy withTeam(int team, int local) {
        return new LaunchPolicy(width, local, team, gemvRows, gemmRows, gemmCols, wholeGroupChunks, contiguousStream, subGroups,
                computeUnits);
    }

    /** This policy with other rows and columns per work-item. */
    public LaunchPolicy withBlocking(int gemvRows, int gemmRows, int gemmCols) {
        return new LaunchPolicy(width, localSize, maxTeam, gemvRows, gemmRows, gemmCols, wholeGroupChunks, contiguousStream, subGroups,
                computeUnits);
    }

    /** This policy with chunks of a whole group (true) or of one tile. */
    public LaunchPolicy withWholeGroupChunks(boolean whole) {
        return new LaunchPolicy(width, localSize, maxTeam, gemvRows, gemmRows, gemmCols, whole, contiguousStream, subGroups, computeUnits);
    }

    /** This policy with sub-group reductions tried (true) or never (false). */
    public LaunchPolicy withSubGroups(boolean on) {
        return new LaunchPolicy(width, localSize, maxTeam, gemvRows, gemmRows, gemmCols, wholeGroupChunks, contiguousStream, on, computeUnits);
    }

    /** This policy with another vector width. */
    public LaunchPolicy withWidth(int width) {
        return new LaunchPolicy(width, localSize, maxTeam, gemvRows, gemmRows, gemmCols, wholeGroupChunks, contiguousStream, subGroups,
                computeUnits);
    }

    /**
     * Lanes per row for a row of {@code chunks} chunks: the largest power of two up to
     * {@link #maxTeam} that leaves each lane at least four chunks (at least one lane).
     */
    int teamFor(int chunks) {
        int t = 1;
        while (t * 2 <= maxTeam && chunks / (t * 2) >= 4) {
            t *= 2;
        }
        return t;
    }

    /**
     * Work-items per group for {@code rows} rows at {@code rowsPerItem} rows per item and {@code team}
     * lanes per row: {@link #localSize}, halved while that leaves fewer than two groups per compute
     * unit (small matrices), never below the team.
     */
    int localFor(int rows, int rowsPerItem, int team) {
        int local = Math.max(team, localSize);
        while (local > team && local / 2 >= team) {
            long rowsPerGroup = (long) local / team * rowsPerItem;
            long groups = (rows + rowsPerGroup - 1) / rowsPerGroup;
            if (groups >= 2L * computeUnits) {
                break;
            }
            local /= 2;
        }
        return local;
    }
}
