//! Unit conversions shared by the checker and the emitters.

use std::fmt::Write;

/// `90000` → `1m30s`; the largest exact units, as Compose and the language write durations.
pub fn duration_compact(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if rest >= size {
            // Written in place: this runs for every health check of every Compose file.
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

/// `90000` → `90s`: the largest single unit that divides exactly, as the language writes a
/// duration literal.
pub fn duration_single(ms: u64) -> String {
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// `300000` → `300s`: Google API durations are whole seconds with an `s`.
pub fn duration_seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    }
}

/// `2147483648` → `2Gi`: the largest binary unit that divides the size.
pub fn size_compact(bytes: u64) -> String {
    for (unit, size) in [("Ti", 1u64 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}")
}

/// Compose memory: `512M` (mebibytes, as Docker reads `M`), or bytes when not a whole number.
pub fn size_docker(bytes: u64) -> String {
    for (unit, size) in [("G", 1u64 << 30), ("M", 1 << 20), ("K", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}")
}

/// A float without a trailing `.0` when it is whole: `2`, `0.5`.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_largest_exact_units() {
        assert_eq!(duration_compact(90_000), "1m30s");
        assert_eq!(duration_compact(30_000), "30s");
        assert_eq!(duration_compact(3_600_000), "1h");
        assert_eq!(duration_compact(1_500), "1s500ms");
        assert_eq!(duration_seconds(300_000), "300s");
        assert_eq!(duration_seconds(1_500), "1.500s");
    }

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(size_compact(2 << 30), "2Gi");
        assert_eq!(size_compact(512 << 20), "512Mi");
        assert_eq!(size_docker(512 << 20), "512M");
        assert_eq!(size_docker(2 << 30), "2G");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.5), "0.5");
    }
}
