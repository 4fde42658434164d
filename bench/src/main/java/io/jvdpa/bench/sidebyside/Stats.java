package io.jvdpa.bench.sidebyside;

import java.util.Arrays;
import java.util.Collection;

/** A measurement's rounds summed up: median, least, most and how many (rounds without a figure, NaN, left out). */
record Stats(double median, double min, double max, int n) {
    static Stats of(double[] values) {
        double[] v = Arrays.stream(values).filter(x -> !Double.isNaN(x)).sorted().toArray();
        if (v.length == 0) {
            return new Stats(Double.NaN, Double.NaN, Double.NaN, 0);
        }
        int m = v.length / 2;
        double median = v.length % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
        return new Stats(median, v[0], v[v.length - 1], v.length);
    }

    static Stats of(Collection<Double> values) {
        return of(values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** The spread as a share of the median: (max - min) / median. */
    double relativeSpread() {
        return (max - min) / median;
    }
}
