package dev.slimq.prune.tokens;

/**
 * 2×2 average pooling on each frame's token grid — the baseline LLaVA-NeXT-style pooling gives
 * (e.g. 24×24 → 12×12). Why: it is the cheapest merging there is and fixes the budget at a quarter
 * (ceil(g/2)² per g×g frame). Each output token is the mean of its block (blocks at the edge of an odd
 * grid are smaller) and keeps the position of the block's top-left token.
 */
public record GridPool() implements TokenMethod {
    @Override
    public String name() {
        return "pool";
    }

    /** The grid side of {@code perFrame} tokens, or -1 when they do not form a square. */
    public static int side(int perFrame) {
        int g = (int) Math.round(Math.sqrt(perFrame));
        return g * g == perFrame ? g : -1;
    }

    /** The only budget pooling yields for {@code tokens} in {@code frames} square frames, or -1. */
    public static int budgetFor(int tokens, int frames) {
        if (tokens % frames != 0) {
            return -1;
        }
        int g = side(tokens / frames);
        int h = (g + 1) / 2;
        return g < 0 ? -1 : frames * h * h;
    }

    @Override
    public int[] group(TokenItem item, int budget) {
        int n = item.tokens();
        int per = n / item.frames();
        int g = side(per);
        if (g < 0 || budgetFor(n, item.frames()) != budget) {
            throw new IllegalArgumentException("pool needs square frames and a budget of " + budgetFor(n, item.frames()) + ", got " + budget);
        }
        int[] groupOf = new int[n];
        for (int f = 0; f < item.frames(); f++) {
            int base = f * per;
            for (int r = 0; r < g; r++) {
                for (int c = 0; c < g; c++) {
                    groupOf[base + r * g + c] = base + (r & ~1) * g + (c & ~1);
                }
            }
        }
        return groupOf;
    }
}
