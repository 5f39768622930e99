//! The `wmark` command line.

fn main() {
    println!("wmark {}", env!("CARGO_PKG_VERSION"));
}
