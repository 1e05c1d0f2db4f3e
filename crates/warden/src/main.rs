//! The `warden` binary: parses arguments and calls the library.

fn main() {
    eprintln!("warden: not implemented yet; see README.md");
    std::process::exit(2);
}
