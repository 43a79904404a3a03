//! A WASI command: a valid component, but not a handler.
fn main() {
    println!("not a handler");
}
