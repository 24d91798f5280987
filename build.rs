//! Builds the small C helper that gives INCRBYFLOAT Redis's `long double` arithmetic.
fn main() {
    println!("cargo:rerun-if-changed=src/native/longdouble.c");
    cc::Build::new()
        .file("src/native/longdouble.c")
        .warnings(true)
        .compile("aofd_longdouble");
}
