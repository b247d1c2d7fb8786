/// mimalloc: a large project allocates millions of small nodes and strings, which glibc's
/// allocator serves markedly slower (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    sight::cli::main()
}
